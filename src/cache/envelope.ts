/**
 * The metadata envelope: what an entry written with freshness options (or tags) carries around its
 * serialized value, so that any cache reading it knows when it stops being fresh, how long it may be
 * served stale, what computing it cost, and which version of the key it is (the fence).
 *
 * Bytes, version 2 (all integers big-endian):
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 6 | the marker `00 63 74 79 65 02` (`"\0ctye"`, then the format version) |
 * | 6 | 1 | flags: bit 0, the serializer's output was text (kept as its UTF-8 bytes) |
 * | 7 | 16 | the fence, as 16 lowercase hexadecimal digits (so that a Redis script can compare it) |
 * | 23 | 8 | fresh until: milliseconds since the epoch, a float64 (`Infinity` for never stale) |
 * | 31 | 8 | how long it may be served stale after that (`staleWhileRevalidate`), in milliseconds |
 * | 39 | 8 | how long it may then be served in grace (`grace`), in milliseconds |
 * | 47 | 4 | what computing the value took, in milliseconds (XFetch's delta) |
 * | 51 | 2 | the number of tags, then each as a 2-byte length, its UTF-8 bytes and its 32-character stamp |
 * | … | … | the serialized value |
 *
 * A tag's stamp is the version of the tag's state the writer saw (see src/tags/): the entry is current
 * only while its tags' states are still those. Version 1 (read, never written) kept the ends of the two
 * windows as times and tags without stamps; its tagged entries read as invalidated.
 *
 * No serializer's output starts with the marker (JSON text never starts with a NUL, pickle starts with
 * `0x80`, V8's format with `0xff`, msgpack's `0x00` is a whole value on its own, zlib, gzip and zstd have
 * magic numbers of their own), and a plain write whose bytes happen to (raw bytes through `noop://`) is
 * stored enveloped, without metadata, so that it reads back as itself: an envelope is never mistaken for
 * a user's value, nor a user's value for an envelope. Values that are not bytes (`noop://` over the
 * memory backend) are enveloped as an object of a class of ours.
 */

import { storedSize } from "../internal/bytes.js";

/** The first bytes of every envelope written now, the last one being the format version. */
export const ENVELOPE_MARKER: Uint8Array = Uint8Array.of(0x00, 0x63, 0x74, 0x79, 0x65, 0x02);
/** What every version of the envelope begins with: what a fenced write looks for (the fence has not moved). */
export const FENCE_MARKER: Uint8Array = ENVELOPE_MARKER.subarray(0, 5);
/** How many characters a tag's stamp has. */
export const STAMP_LENGTH = 32;
/** Where the fence starts: what a fenced write compares. */
export const FENCE_OFFSET = 7;
/** How many hexadecimal digits the fence has. */
export const FENCE_DIGITS = 16;
/** The fence of a plain value that needed an envelope: newer than any computed one. */
const PLAIN_FENCE = Number.MAX_SAFE_INTEGER;
const HEADER_SIZE = 53;
const TEXT_PAYLOAD = 1;
/** Tags on one entry at most (each costs bytes on every copy of the entry). */
export const MAX_TAGS = 1000;

/** What an entry knows about itself beyond its value; times in milliseconds since the epoch. */
export interface EntryMetadata {
  /** The version of the key this value is: a write fenced by it refuses to replace a newer one. */
  readonly fence: number;
  /** Until when the value is fresh (`Infinity`: as long as it is stored). */
  readonly freshUntil: number;
  /** Until when it may be served stale while one refresh runs in the background. */
  readonly staleUntil: number;
  /** Until when it may be served when the refresh fails or the backend is down. */
  readonly graceUntil: number;
  /** How long it may be served stale once it is no longer fresh (`staleWhileRevalidate`). */
  readonly staleFor: number;
  /** How long it may be served in grace after that (`grace`). */
  readonly graceFor: number;
  /** How long computing it took (for early refresh). */
  readonly computeMs: number;
  /** Its tags. */
  readonly tags: readonly string[];
  /** The stamp of each tag (the version of its state the writer saw), in the order of `tags`. */
  readonly stamps: readonly string[];
}

/** The metadata of a value that has none: fresh for as long as the backend keeps it. */
export const PLAIN_METADATA: EntryMetadata = Object.freeze({
  fence: 0,
  freshUntil: Number.POSITIVE_INFINITY,
  staleUntil: Number.POSITIVE_INFINITY,
  graceUntil: Number.POSITIVE_INFINITY,
  staleFor: 0,
  graceFor: 0,
  computeMs: 0,
  tags: Object.freeze([]),
  stamps: Object.freeze([]),
});

/**
 * The metadata of a value written `now` (epoch ms): fresh for `timeToLive` (`undefined`: as long as it is
 * stored), then stale for `staleWhileRevalidate`, then in grace for `grace`.
 */
export function entryMetadata(
  now: number,
  timeToLive: number | undefined,
  windows: { readonly staleWhileRevalidate: number; readonly grace: number },
  rest: Pick<EntryMetadata, "fence" | "computeMs" | "tags" | "stamps">,
): EntryMetadata {
  const freshUntil = timeToLive === undefined ? Number.POSITIVE_INFINITY : now + timeToLive;
  const staleUntil = freshUntil + windows.staleWhileRevalidate;
  return {
    ...rest,
    freshUntil,
    staleUntil,
    graceUntil: staleUntil + windows.grace,
    staleFor: windows.staleWhileRevalidate,
    graceFor: windows.grace,
  };
}

/** Whether an entry is within a grace window that its writer gave it, at `now`. */
export function inGrace(metadata: EntryMetadata, now: number): boolean {
  return metadata.graceUntil > metadata.staleUntil && now < metadata.graceUntil;
}

/**
 * An envelope as an object, for a backend that stores any value (the memory backend): no copy of the
 * serialized value, and nothing to parse on a read.
 */
class ObjectEnvelope {
  constructor(
    readonly metadata: EntryMetadata,
    readonly payload: unknown,
    /** For an entry checked against its tags: the stored bytes it came from, whose seal is still to check. */
    readonly stored?: Uint8Array,
  ) {}

  /** What a byte-bounded store counts for it (the `storedSize` protocol of internal/bytes.ts). */
  get storedSize(): number {
    let size = HEADER_SIZE + storedSize(this.payload);
    for (const tag of this.metadata.tags) size += 2 + Buffer.byteLength(tag) + STAMP_LENGTH;
    return size;
  }
}

/** The marker as text, for a serializer whose output is a string. */
const MARKER_TEXT = String.fromCharCode(...ENVELOPE_MARKER);

/**
 * Whether `bytes` are an envelope: a NUL first (which plain values almost never start with), then the
 * marker, of version 1 or 2.
 */
function isByteEnvelope(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0 || bytes.byteLength < HEADER_SIZE) return false;
  for (let index = 1; index < FENCE_MARKER.length; index++) {
    if (bytes[index] !== FENCE_MARKER[index]) return false;
  }
  const version = bytes[5];
  return version === 2 || version === 1;
}

/** How many bytes follow each tag's text: its stamp, or nothing in version 1. */
function stampBytes(bytes: Uint8Array): number {
  return bytes[5] === 1 ? 0 : STAMP_LENGTH;
}

/**
 * Whether `wire` is an entry with tags, whose tags' states must be checked before it is served: one
 * `typeof` for text, a byte or two for bytes.
 */
export function hasTags(wire: unknown): boolean {
  if (typeof wire !== "object" || wire === null) return false;
  if (wire instanceof Uint8Array) return isByteEnvelope(wire) && (wire[51] !== 0 || wire[52] !== 0);
  return wire instanceof ObjectEnvelope && wire.metadata.tags.length > 0;
}

/**
 * An entry checked against its tags' states, as the reader is to see it: the same payload, with times
 * shortened by an `expireByTag`, and no tags left to check.
 */
export function checkedEntry(wire: unknown, metadata: EntryMetadata): unknown {
  return new ObjectEnvelope(
    { ...metadata, tags: PLAIN_METADATA.tags, stamps: PLAIN_METADATA.stamps },
    payloadOf(wire),
    wire instanceof Uint8Array ? wire : undefined,
  );
}

/**
 * `wire` once its seal is checked and taken off by `open` (see `Serializer.sealing`): the bytes without
 * their trailer, or, for an entry checked against its tags, its payload taken again from the bytes it
 * came from.
 *
 * @throws TypeError for what was never sealed (text, or an object a sealing cache does not write).
 */
export function unsealed(wire: unknown, open: (bytes: Uint8Array) => Uint8Array): unknown {
  if (wire instanceof Uint8Array) return open(wire);
  if (wire instanceof ObjectEnvelope && wire.stored !== undefined) {
    return new ObjectEnvelope(wire.metadata, payloadOf(open(wire.stored)));
  }
  throw new TypeError(`a sealed value is bytes, got ${typeof wire === "string" ? "text" : typeof wire}`);
}

/** Whether a plain serialized value would read as an envelope, and so must be stored in one. */
export function needsEscape(wire: unknown): boolean {
  if (typeof wire === "string") return wire.charCodeAt(0) === 0 && wire.startsWith(MARKER_TEXT);
  return wire instanceof Uint8Array && isByteEnvelope(wire);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A float64 of an envelope's header, without a DataView when the bytes are a Buffer (as stores return them). */
function timeAt(bytes: Uint8Array, offset: number): number {
  return Buffer.isBuffer(bytes) ? bytes.readDoubleBE(offset) : view(bytes).getFloat64(offset);
}

/**
 * Wraps a serialized value with its metadata: as bytes for a store of bytes, else (`asObject`, or a value
 * that is neither text nor bytes) as an object.
 *
 * @throws RangeError for more than {@link MAX_TAGS} tags or a tag over 65 535 bytes.
 */
export function envelope(wire: unknown, metadata: EntryMetadata, asObject = false): unknown {
  if (asObject || (typeof wire !== "string" && !(wire instanceof Uint8Array))) {
    return new ObjectEnvelope(metadata, wire);
  }
  const payload = typeof wire === "string" ? Buffer.from(wire) : wire;
  const { tags } = metadata;
  if (tags.length > MAX_TAGS)
    throw new RangeError(`an entry takes at most ${String(MAX_TAGS)} tags, got ${String(tags.length)}`);
  const encodedTags = tags.map((tag) => Buffer.from(tag));
  let size = HEADER_SIZE + payload.byteLength;
  for (const tag of encodedTags) {
    if (tag.byteLength > 0xffff)
      throw new RangeError(`a tag is at most 65535 bytes, got one of ${String(tag.byteLength)}`);
    size += 2 + tag.byteLength + STAMP_LENGTH;
  }
  const bytes = Buffer.allocUnsafe(size);
  bytes.set(ENVELOPE_MARKER, 0);
  bytes[6] = typeof wire === "string" ? TEXT_PAYLOAD : 0;
  bytes.write(Math.min(metadata.fence, PLAIN_FENCE).toString(16).padStart(FENCE_DIGITS, "0"), FENCE_OFFSET, "latin1");
  bytes.writeDoubleBE(metadata.freshUntil, 23);
  bytes.writeDoubleBE(metadata.staleFor, 31);
  bytes.writeDoubleBE(metadata.graceFor, 39);
  bytes.writeUInt32BE(Math.min(0xffffffff, Math.max(0, Math.round(metadata.computeMs))), 47);
  bytes.writeUInt16BE(encodedTags.length, 51);
  let offset = HEADER_SIZE;
  for (const [index, tag] of encodedTags.entries()) {
    bytes.writeUInt16BE(tag.byteLength, offset);
    bytes.set(tag, offset + 2);
    offset += 2 + tag.byteLength;
    // A stamp is 32 ASCII characters; a missing one (never written so) leaves spaces, which match no state.
    bytes.write((metadata.stamps[index] ?? "").padEnd(STAMP_LENGTH, " "), offset, STAMP_LENGTH, "latin1");
    offset += STAMP_LENGTH;
  }
  bytes.set(payload, offset);
  return bytes;
}

/** The length of a version 1 window from `start` to `end` (0 when both are `Infinity`). */
function windowOf(end: number, start: number): number {
  return end === start ? 0 : end - start;
}

/** A plain value whose bytes would read as an envelope, stored in one that says nothing more. */
export function escapePlain(wire: unknown): unknown {
  return envelope(wire, { ...PLAIN_METADATA, fence: PLAIN_FENCE });
}

/** Until when an enveloped value is fresh, read without decoding the rest (`Infinity` for a plain value). */
export function freshUntilOf(wire: unknown): number {
  if (typeof wire !== "object" || wire === null) return Number.POSITIVE_INFINITY;
  if (wire instanceof Uint8Array) {
    return isByteEnvelope(wire) ? timeAt(wire, 23) : Number.POSITIVE_INFINITY;
  }
  return wire instanceof ObjectEnvelope ? wire.metadata.freshUntil : Number.POSITIVE_INFINITY;
}

/**
 * The serialized value inside `wire` and its metadata; a plain value is its own payload, with
 * {@link PLAIN_METADATA}.
 *
 * @throws RangeError for an envelope cut short (its tags run past its end).
 */
export function openEnvelope(wire: unknown): { readonly payload: unknown; readonly metadata: EntryMetadata } {
  if (wire instanceof ObjectEnvelope) return wire;
  if (!(wire instanceof Uint8Array) || !isByteEnvelope(wire)) return { payload: wire, metadata: PLAIN_METADATA };
  const data = view(wire);
  const fenceText = Buffer.from(wire.buffer, wire.byteOffset + FENCE_OFFSET, FENCE_DIGITS).toString("latin1");
  const tagCount = data.getUint16(51);
  const stampSize = stampBytes(wire);
  const bytes = asBuffer(wire);
  const tags: string[] = [];
  const stamps: string[] = [];
  let offset = HEADER_SIZE;
  for (let index = 0; index < tagCount; index++) {
    if (offset + 2 > wire.byteLength) throw new RangeError("the envelope's tags run past its end");
    const length = data.getUint16(offset);
    const end = offset + 2 + length;
    if (end + stampSize > wire.byteLength) throw new RangeError("the envelope's tags run past its end");
    tags.push(bytes.toString("utf8", offset + 2, end));
    stamps.push(stampSize === 0 ? "" : bytes.toString("latin1", end, end + stampSize));
    offset = end + stampSize;
  }
  const freshUntil = data.getFloat64(23);
  // Version 1 kept the ends of the windows; version 2 their lengths, which an expireByTag moves.
  const staleFor = stampSize === 0 ? windowOf(data.getFloat64(31), freshUntil) : data.getFloat64(31);
  const graceFor = stampSize === 0 ? windowOf(data.getFloat64(39), data.getFloat64(31)) : data.getFloat64(39);
  const staleUntil = freshUntil + staleFor;
  return {
    payload: payloadAt(wire, offset),
    metadata: {
      fence: Number.parseInt(fenceText, 16),
      freshUntil,
      staleUntil,
      graceUntil: staleUntil + graceFor,
      staleFor,
      graceFor,
      computeMs: data.getUint32(47),
      tags,
      stamps,
    },
  };
}

/**
 * Only the payload of `wire` (the value of a plain `get`), without building the metadata.
 *
 * @throws RangeError for an envelope cut short.
 */
export function payloadOf(wire: unknown): unknown {
  // Text and other primitives first: the plain values of most caches, at the cost of one typeof.
  if (typeof wire !== "object" || wire === null) return wire;
  if (wire instanceof Uint8Array) return isByteEnvelope(wire) ? payloadAfterTags(wire) : wire;
  return wire instanceof ObjectEnvelope ? wire.payload : wire;
}

/** Answered by {@link payloadUnlessTagged} for an entry whose tags' states must be checked first. */
export const TAGGED: unique symbol = Symbol("cachetory.tagged");

/**
 * {@link payloadOf}, or {@link TAGGED} for an entry with tags: one pass for a hot path that must not
 * decode a tagged entry before its tags' states have had their say.
 *
 * @throws RangeError for an envelope cut short.
 */
export function payloadUnlessTagged(wire: unknown): unknown {
  if (typeof wire !== "object" || wire === null) return wire;
  if (wire instanceof Uint8Array) {
    if (!isByteEnvelope(wire)) return wire;
    return wire[51] !== 0 || wire[52] !== 0 ? TAGGED : payloadAfterTags(wire);
  }
  if (!(wire instanceof ObjectEnvelope)) return wire;
  return wire.metadata.tags.length > 0 ? TAGGED : wire.payload;
}

/** The serialized value of a byte envelope, found by skipping its tags. */
function payloadAfterTags(wire: Uint8Array): unknown {
  const bytes = asBuffer(wire);
  const stampSize = stampBytes(bytes);
  let offset = HEADER_SIZE;
  for (let index = bytes.readUInt16BE(51); index > 0; index--) {
    if (offset + 2 > bytes.byteLength) throw new RangeError("the envelope's tags run past its end");
    offset += 2 + bytes.readUInt16BE(offset) + stampSize;
  }
  return payloadAt(bytes, offset);
}

/** The serialized value of a byte envelope from `offset` (where its tags end), as text when it was text. */
function payloadAt(wire: Uint8Array, offset: number): unknown {
  if (offset > wire.byteLength) throw new RangeError("the envelope's tags run past its end");
  const bytes = asBuffer(wire);
  return (bytes[6] ?? 0) & TEXT_PAYLOAD ? bytes.toString("utf8", offset) : bytes.subarray(offset);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
