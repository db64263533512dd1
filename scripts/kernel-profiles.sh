#!/usr/bin/env bash
# Remakes test/fixtures/kernels/: this host's kernel profile (from tracefs) and profiles of real
# Debian kernels derived from their images' BTF without booting them
# (`tapfleet profile --from-vmlinux`). Run by hand, as root, OUTSIDE any network namespace
# (it downloads the linux-image .debs from deb.debian.org); the .debs are kept under
# .tapfleet/kernel-debs and never committed. Prints each .deb's sha256 for the README.
set -euo pipefail
cd "$(dirname "$0")/.."
out=test/fixtures/kernels
cache=.tapfleet/kernel-debs
mkdir -p "$out" "$cache"

# package version arch pool-path (debian-security): the bookworm 6.1 flavours, bookworm's 6.12
# backport, and both on arm64 (a different arch: syscall table, register ABI, char signedness).
kernels=(
  "linux-image-6.1.0-57-amd64-unsigned 6.1.192-3 amd64 linux"
  "linux-image-6.1.0-57-cloud-amd64-unsigned 6.1.192-3 amd64 linux"
  "linux-image-6.1.0-57-rt-amd64-unsigned 6.1.192-3 amd64 linux"
  "linux-image-6.1.0-57-arm64-unsigned 6.1.192-3 arm64 linux"
  "linux-image-6.12.117+deb12-amd64-unsigned 6.12.117-1~deb12u1 amd64 linux-6.12"
  "linux-image-6.12.117+deb12-arm64-unsigned 6.12.117-1~deb12u1 arm64 linux-6.12"
)

npx tsc -b tsconfig.json
host="$out/host-$(uname -r)-$(uname -m).json"
node bin/tapfleet.js profile --all > "$host"
gzip -9nf "$host"

for k in "${kernels[@]}"; do
  read -r pkg version arch pool <<<"$k"
  deb="$cache/${pkg}_${version}_${arch}.deb"
  if [ ! -s "$deb" ]; then
    curl -fsS --retry 3 -o "$deb.part" "http://deb.debian.org/debian-security/pool/updates/main/l/$pool/${pkg}_${version//:/%3a}_${arch}.deb"
    mv "$deb.part" "$deb"
  fi
  echo "$(sha256sum "$deb" | cut -d' ' -f1)  $(basename "$deb")"
  dir="$cache/x/${pkg}_${version}_${arch}"
  rm -rf "$dir" && mkdir -p "$dir"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards './boot/vmlinuz-*'
  release=${pkg#linux-image-}; release=${release%-unsigned}
  fixture="$out/debian-$release.json"
  node bin/tapfleet.js profile --from-vmlinux "$dir"/boot/vmlinuz-* --names-from "$host.gz" --out "$fixture"
  gzip -9nf "$fixture"
done
ls -l "$out"
