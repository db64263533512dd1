# Sourced by scripts/test.sh and bench/run-all.sh. Their stacks bind fixed loopback ports in
# 14000-48999, most inside the kernel's ephemeral range: an outgoing connection could take one as
# its source port first (EADDRINUSE, seen). reserve_port_band keeps the band from ephemeral use
# (explicit binds still work); release_port_band restores what was reserved before.
reserved_ports_file=/proc/sys/net/ipv4/ip_local_reserved_ports
reserved_ports_before=""
reserve_port_band() {
  if [ -w "$reserved_ports_file" ]; then
    reserved_ports_before=$(cat "$reserved_ports_file")
    echo "${reserved_ports_before:+$reserved_ports_before,}14000-48999" > "$reserved_ports_file"
  fi
}
release_port_band() {
  if [ -w "$reserved_ports_file" ]; then echo "$reserved_ports_before" > "$reserved_ports_file"; fi
}
