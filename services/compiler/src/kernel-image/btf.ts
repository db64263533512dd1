/**
 * A reader for the kernel's BTF (the `.BTF` section of vmlinux, or /sys/kernel/btf/vmlinux):
 * just enough of the format (include/uapi/linux/btf.h) to lay out structs and read function
 * prototypes. Type ids start at 1; id 0 is `void`.
 */

export class BtfError extends Error {
  readonly code = 'TAPFLEET_BTF';
}

export const BTF_MAGIC = 0xeb9f;

export enum BtfKind {
  Int = 1, Ptr = 2, Array = 3, Struct = 4, Union = 5, Enum = 6, Fwd = 7, Typedef = 8, Volatile = 9, Const = 10, Restrict = 11,
  Func = 12, FuncProto = 13, Var = 14, DataSec = 15, Float = 16, DeclTag = 17, TypeTag = 18, Enum64 = 19,
}

export interface BtfMember {
  name: string;
  type: number;
  /** Offset in bits from the start of the struct. */
  bitOffset: number;
  /** Bitfield width, 0 for an ordinary member. */
  bitSize: number;
}

export interface BtfParam {
  name: string;
  type: number;
}

export interface BtfType {
  id: number;
  kind: BtfKind;
  name: string;
  /** Size in bytes for Int/Struct/Union/Enum/Float; the referenced type id for Ptr/Typedef/modifiers/Func. */
  sizeOrType: number;
  kindFlag: boolean;
  /** Int only: BTF_INT_SIGNED. */
  intSigned?: boolean;
  /** Array only. */
  array?: { elem: number; nelems: number };
  members?: BtfMember[];
  params?: BtfParam[];
}

const HEADER_BYTES = 24;

/** Bytes a BTF blob occupies, from its header; lets a caller cut it out of a larger image. */
export function btfLength(buf: Buffer, at = 0): number | undefined {
  if (buf.length < at + HEADER_BYTES || buf.readUInt16LE(at) !== BTF_MAGIC || buf[at + 2] !== 1) return undefined;
  const hdrLen = buf.readUInt32LE(at + 4);
  const typeOff = buf.readUInt32LE(at + 8);
  const typeLen = buf.readUInt32LE(at + 12);
  const strOff = buf.readUInt32LE(at + 16);
  const strLen = buf.readUInt32LE(at + 20);
  // A real header: types first, strings right after, nothing overlapping.
  if (hdrLen !== HEADER_BYTES || typeOff !== 0 || strOff !== typeOff + typeLen || strLen === 0) return undefined;
  const total = hdrLen + strOff + strLen;
  return at + total <= buf.length ? total : undefined;
}

export class Btf {
  readonly types: BtfType[] = [];
  private readonly byName = new Map<string, BtfType[]>();

  constructor(readonly raw: Buffer) {
    const total = btfLength(raw);
    if (total === undefined) throw new BtfError('not a BTF blob (bad magic, version or header)');
    const typeStart = HEADER_BYTES + raw.readUInt32LE(8);
    const typeEnd = typeStart + raw.readUInt32LE(12);
    const strStart = HEADER_BYTES + raw.readUInt32LE(16);
    const str = (off: number) => {
      const at = strStart + off;
      return raw.toString('latin1', at, raw.indexOf(0, at));
    };
    let at = typeStart;
    this.types.push({ id: 0, kind: BtfKind.Int, name: 'void', sizeOrType: 0, kindFlag: false });
    while (at < typeEnd) {
      const nameOff = raw.readUInt32LE(at);
      const info = raw.readUInt32LE(at + 4);
      const sizeOrType = raw.readUInt32LE(at + 8);
      at += 12;
      const kind = ((info >>> 24) & 0x1f) as BtfKind;
      const vlen = info & 0xffff;
      const kindFlag = info >>> 31 === 1;
      const t: BtfType = { id: this.types.length, kind, name: str(nameOff), sizeOrType, kindFlag };
      switch (kind) {
        case BtfKind.Int:
          t.intSigned = ((raw.readUInt32LE(at) >>> 24) & 0x1) === 1;
          at += 4;
          break;
        case BtfKind.Array:
          t.array = { elem: raw.readUInt32LE(at), nelems: raw.readUInt32LE(at + 8) };
          at += 12;
          break;
        case BtfKind.Struct:
        case BtfKind.Union:
          t.members = [];
          for (let i = 0; i < vlen; i++, at += 12) {
            const off = raw.readUInt32LE(at + 8);
            t.members.push({ name: str(raw.readUInt32LE(at)), type: raw.readUInt32LE(at + 4), bitOffset: kindFlag ? off & 0xffffff : off, bitSize: kindFlag ? off >>> 24 : 0 });
          }
          break;
        case BtfKind.Enum:
          at += 8 * vlen;
          break;
        case BtfKind.Enum64:
          at += 12 * vlen;
          break;
        case BtfKind.FuncProto:
          t.params = [];
          for (let i = 0; i < vlen; i++, at += 8) t.params.push({ name: str(raw.readUInt32LE(at)), type: raw.readUInt32LE(at + 4) });
          break;
        case BtfKind.Var:
        case BtfKind.DeclTag:
          at += 4;
          break;
        case BtfKind.DataSec:
          at += 12 * vlen;
          break;
        case BtfKind.Ptr: case BtfKind.Fwd: case BtfKind.Typedef: case BtfKind.Volatile: case BtfKind.Const:
        case BtfKind.Restrict: case BtfKind.Func: case BtfKind.Float: case BtfKind.TypeTag:
          break;
        default:
          throw new BtfError(`unknown BTF kind ${kind as number} at type ${t.id}`);
      }
      this.types.push(t);
      if (t.name) {
        const list = this.byName.get(t.name);
        if (list) list.push(t);
        else this.byName.set(t.name, [t]);
      }
    }
  }

  type(id: number): BtfType {
    const t = this.types[id];
    if (!t) throw new BtfError(`BTF type ${id} out of range`);
    return t;
  }

  /** The first type of `kind` named `name`. */
  find(kind: BtfKind, name: string): BtfType | undefined {
    return this.byName.get(name)?.find((t) => t.kind === kind);
  }

  /** Every named type of `kind`, e.g. all structs. */
  *named(kind: BtfKind): Generator<BtfType> {
    for (const t of this.types) if (t.kind === kind && t.name) yield t;
  }

  /** Follows typedefs and const/volatile/restrict/type tags to the type they qualify. */
  strip(id: number): BtfType {
    let t = this.type(id);
    while ([BtfKind.Typedef, BtfKind.Volatile, BtfKind.Const, BtfKind.Restrict, BtfKind.TypeTag].includes(t.kind)) t = this.type(t.sizeOrType);
    return t;
  }

  /** sizeof(type) on a 64-bit kernel; undefined where C has none (void, functions, forward declarations). */
  sizeOf(id: number): number | undefined {
    const t = this.strip(id);
    switch (t.kind) {
      case BtfKind.Int:
        return t.id === 0 ? undefined : t.sizeOrType;
      case BtfKind.Struct: case BtfKind.Union: case BtfKind.Enum: case BtfKind.Enum64: case BtfKind.Float:
        return t.sizeOrType;
      case BtfKind.Ptr:
        return 8;
      case BtfKind.Array: {
        const elem = this.sizeOf(t.array!.elem);
        return elem === undefined ? undefined : elem * t.array!.nelems;
      }
      default:
        return undefined;
    }
  }

  /**
   * `is_signed_type(type)` as the kernel's trace macros evaluate it: integers by their
   * encoding, enums by BTF's signed flag, arrays by their element; pointers and the rest are unsigned.
   */
  isSigned(id: number): boolean {
    const t = this.strip(id);
    if (t.kind === BtfKind.Int) return t.intSigned === true;
    if (t.kind === BtfKind.Enum || t.kind === BtfKind.Enum64) return t.kindFlag;
    if (t.kind === BtfKind.Array) return this.isSigned(t.array!.elem);
    return false;
  }

  /** A C declaration of `name` with type `id`, in the style of tracefs format files (`char comm[16]`, `const char * name`). */
  declare(id: number, name: string): string {
    const t = this.type(id);
    if (t.kind === BtfKind.Array) return `${this.typeName(t.array!.elem)} ${name}[${t.array!.nelems}]`;
    return `${this.typeName(id)} ${name}`;
  }

  /** The C spelling of a type as declared (typedef names kept, as the kernel's macros stringify them). */
  typeName(id: number): string {
    const t = this.type(id);
    switch (t.kind) {
      case BtfKind.Int:
      case BtfKind.Typedef:
      case BtfKind.Float:
        return t.name;
      case BtfKind.Struct: return `struct ${t.name || '(anon)'}`;
      case BtfKind.Union: return `union ${t.name || '(anon)'}`;
      case BtfKind.Enum: case BtfKind.Enum64: return `enum ${t.name || '(anon)'}`;
      case BtfKind.Fwd: return `${t.kindFlag ? 'union' : 'struct'} ${t.name}`;
      case BtfKind.Const: return `const ${this.typeName(t.sizeOrType)}`;
      case BtfKind.Volatile: return `volatile ${this.typeName(t.sizeOrType)}`;
      case BtfKind.Restrict: case BtfKind.TypeTag: return this.typeName(t.sizeOrType);
      case BtfKind.Ptr: {
        const to = this.type(t.sizeOrType);
        return to.kind === BtfKind.FuncProto ? 'void *' : `${this.typeName(t.sizeOrType)} *`;
      }
      case BtfKind.Array: return `${this.typeName(t.array!.elem)}[${t.array!.nelems}]`;
      default: return 'void';
    }
  }

  /** The parameters of FUNC `name`, if BTF has it (inlined functions are absent). */
  funcParams(name: string): BtfParam[] | undefined {
    const f = this.find(BtfKind.Func, name);
    return f ? this.type(f.sizeOrType).params : undefined;
  }
}
