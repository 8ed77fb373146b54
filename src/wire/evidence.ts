/* eslint-disable */
// Generated from protocols/evidence.proto by scripts/gen-protos.mjs. Do not edit.
import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Claim {
  signer: string
  taskId: string
  outputDigest: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
  issuedAt: number
}

export namespace Claim {
  let _codec: Codec<Claim>

  export const codec = (): Codec<Claim> => {
    if (_codec == null) {
      _codec = message<Claim>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.signer != null && obj.signer !== '')) {
          w.uint32(10)
          w.string(obj.signer)
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(18)
          w.string(obj.taskId)
        }

        if ((obj.outputDigest != null && obj.outputDigest.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.outputDigest)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.signature)
        }

        if ((obj.issuedAt != null && obj.issuedAt !== 0)) {
          w.uint32(40)
          w.uint32(obj.issuedAt)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          signer: '',
          taskId: '',
          outputDigest: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0),
          issuedAt: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.signer = reader.string()
              break
            }
            case 2: {
              obj.taskId = reader.string()
              break
            }
            case 3: {
              obj.outputDigest = reader.bytes()
              break
            }
            case 4: {
              obj.signature = reader.bytes()
              break
            }
            case 5: {
              obj.issuedAt = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.signer`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.taskId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.outputDigest`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.issuedAt`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ClaimSignerFieldEvent {
    field: '$.signer'
    value: string
  }

  export interface ClaimTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export interface ClaimOutputDigestFieldEvent {
    field: '$.outputDigest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ClaimSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ClaimIssuedAtFieldEvent {
    field: '$.issuedAt'
    value: number
  }

  export function encode (obj: Partial<Claim>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Claim.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Claim>): Claim {
    return decodeMessage(buf, Claim.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Claim>): Generator<ClaimSignerFieldEvent | ClaimTaskIdFieldEvent | ClaimOutputDigestFieldEvent | ClaimSignatureFieldEvent | ClaimIssuedAtFieldEvent> {
    return streamMessage(buf, Claim.codec(), opts)
  }
}

export interface Evidence {
  kind: string
  input: Uint8Array<ArrayBuffer>
  claims: Claim[]
}

export namespace Evidence {
  let _codec: Codec<Evidence>

  export const codec = (): Codec<Evidence> => {
    if (_codec == null) {
      _codec = message<Evidence>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.kind != null && obj.kind !== '')) {
          w.uint32(10)
          w.string(obj.kind)
        }

        if ((obj.input != null && obj.input.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.input)
        }

        if (obj.claims != null && obj.claims.length > 0) {
          for (const value of obj.claims) {
            w.uint32(26)
            Claim.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          kind: '',
          input: uint8ArrayAlloc(0),
          claims: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.kind = reader.string()
              break
            }
            case 2: {
              obj.input = reader.bytes()
              break
            }
            case 3: {
              if (opts.limits?.claims != null && obj.claims.length === opts.limits.claims) {
                throw new MaxLengthError('Decode error - repeated field "claims" had too many elements')
              }

              obj.claims.push(Claim.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.claims$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          claims: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.kind`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.input`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              if (opts.limits?.claims != null && obj.claims === opts.limits.claims) {
                throw new MaxLengthError('Streaming decode error - repeated field "claims" had too many elements')
              }

              for (const evt of Claim.codec().stream(reader, reader.uint32(), `${prefix}.claims[]`, {
                limits: opts.limits?.claims$
              })) {
                yield {
                  ...evt,
                  index: obj.claims
                }
              }

              obj.claims++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface EvidenceKindFieldEvent {
    field: '$.kind'
    value: string
  }

  export interface EvidenceInputFieldEvent {
    field: '$.input'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EvidenceClaimsSignerFieldEvent {
    field: '$.claims[].signer'
    value: string
    index: number
  }

  export interface EvidenceClaimsTaskIdFieldEvent {
    field: '$.claims[].taskId'
    value: string
    index: number
  }

  export interface EvidenceClaimsOutputDigestFieldEvent {
    field: '$.claims[].outputDigest'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface EvidenceClaimsSignatureFieldEvent {
    field: '$.claims[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface EvidenceClaimsIssuedAtFieldEvent {
    field: '$.claims[].issuedAt'
    value: number
    index: number
  }

  export function encode (obj: Partial<Evidence>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Evidence.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Evidence>): Evidence {
    return decodeMessage(buf, Evidence.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Evidence>): Generator<EvidenceKindFieldEvent | EvidenceInputFieldEvent | EvidenceClaimsSignerFieldEvent | EvidenceClaimsTaskIdFieldEvent | EvidenceClaimsOutputDigestFieldEvent | EvidenceClaimsSignatureFieldEvent | EvidenceClaimsIssuedAtFieldEvent> {
    return streamMessage(buf, Evidence.codec(), opts)
  }
}
