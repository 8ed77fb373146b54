/* eslint-disable */
// Generated from protocols/federation.proto by scripts/gen-protos.mjs. Do not edit.
import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface CertificateBody {
  federation: Uint8Array<ArrayBuffer>
  subject: Uint8Array<ArrayBuffer>
  name: string
  roles: number
  issuedAt: number
  expiresAt: number
  issuer: Uint8Array<ArrayBuffer>
}

export namespace CertificateBody {
  let _codec: Codec<CertificateBody>

  export const codec = (): Codec<CertificateBody> => {
    if (_codec == null) {
      _codec = message<CertificateBody>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.federation != null && obj.federation.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.federation)
        }

        if ((obj.subject != null && obj.subject.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.subject)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(26)
          w.string(obj.name)
        }

        if ((obj.roles != null && obj.roles !== 0)) {
          w.uint32(32)
          w.uint32(obj.roles)
        }

        if ((obj.issuedAt != null && obj.issuedAt !== 0)) {
          w.uint32(40)
          w.uint64Number(obj.issuedAt)
        }

        if ((obj.expiresAt != null && obj.expiresAt !== 0)) {
          w.uint32(48)
          w.uint64Number(obj.expiresAt)
        }

        if ((obj.issuer != null && obj.issuer.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.issuer)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          federation: uint8ArrayAlloc(0),
          subject: uint8ArrayAlloc(0),
          name: '',
          roles: 0,
          issuedAt: 0,
          expiresAt: 0,
          issuer: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.federation = reader.bytes()
              break
            }
            case 2: {
              obj.subject = reader.bytes()
              break
            }
            case 3: {
              obj.name = reader.string()
              break
            }
            case 4: {
              obj.roles = reader.uint32()
              break
            }
            case 5: {
              obj.issuedAt = reader.uint64Number()
              break
            }
            case 6: {
              obj.expiresAt = reader.uint64Number()
              break
            }
            case 7: {
              obj.issuer = reader.bytes()
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
                field: `${prefix}.federation`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.subject`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.roles`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.issuedAt`,
                value: reader.uint64Number()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.expiresAt`,
                value: reader.uint64Number()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.issuer`,
                value: reader.bytes()
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

  export interface CertificateBodyFederationFieldEvent {
    field: '$.federation'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CertificateBodySubjectFieldEvent {
    field: '$.subject'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CertificateBodyNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface CertificateBodyRolesFieldEvent {
    field: '$.roles'
    value: number
  }

  export interface CertificateBodyIssuedAtFieldEvent {
    field: '$.issuedAt'
    value: number
  }

  export interface CertificateBodyExpiresAtFieldEvent {
    field: '$.expiresAt'
    value: number
  }

  export interface CertificateBodyIssuerFieldEvent {
    field: '$.issuer'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<CertificateBody>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, CertificateBody.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CertificateBody>): CertificateBody {
    return decodeMessage(buf, CertificateBody.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CertificateBody>): Generator<CertificateBodyFederationFieldEvent | CertificateBodySubjectFieldEvent | CertificateBodyNameFieldEvent | CertificateBodyRolesFieldEvent | CertificateBodyIssuedAtFieldEvent | CertificateBodyExpiresAtFieldEvent | CertificateBodyIssuerFieldEvent> {
    return streamMessage(buf, CertificateBody.codec(), opts)
  }
}

export interface Certificate {
  body: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace Certificate {
  let _codec: Codec<Certificate>

  export const codec = (): Codec<Certificate> => {
    if (_codec == null) {
      _codec = message<Certificate>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.body)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          body: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.body = reader.bytes()
              break
            }
            case 2: {
              obj.signature = reader.bytes()
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
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
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

  export interface CertificateBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface CertificateSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Certificate>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Certificate.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Certificate>): Certificate {
    return decodeMessage(buf, Certificate.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Certificate>): Generator<CertificateBodyFieldEvent | CertificateSignatureFieldEvent> {
    return streamMessage(buf, Certificate.codec(), opts)
  }
}

export interface RevocationBody {
  federation: Uint8Array<ArrayBuffer>
  subject: Uint8Array<ArrayBuffer>
  revokedAt: number
  issuer: Uint8Array<ArrayBuffer>
}

export namespace RevocationBody {
  let _codec: Codec<RevocationBody>

  export const codec = (): Codec<RevocationBody> => {
    if (_codec == null) {
      _codec = message<RevocationBody>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.federation != null && obj.federation.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.federation)
        }

        if ((obj.subject != null && obj.subject.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.subject)
        }

        if ((obj.revokedAt != null && obj.revokedAt !== 0)) {
          w.uint32(24)
          w.uint64Number(obj.revokedAt)
        }

        if ((obj.issuer != null && obj.issuer.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.issuer)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          federation: uint8ArrayAlloc(0),
          subject: uint8ArrayAlloc(0),
          revokedAt: 0,
          issuer: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.federation = reader.bytes()
              break
            }
            case 2: {
              obj.subject = reader.bytes()
              break
            }
            case 3: {
              obj.revokedAt = reader.uint64Number()
              break
            }
            case 4: {
              obj.issuer = reader.bytes()
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
                field: `${prefix}.federation`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.subject`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.revokedAt`,
                value: reader.uint64Number()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.issuer`,
                value: reader.bytes()
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

  export interface RevocationBodyFederationFieldEvent {
    field: '$.federation'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RevocationBodySubjectFieldEvent {
    field: '$.subject'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RevocationBodyRevokedAtFieldEvent {
    field: '$.revokedAt'
    value: number
  }

  export interface RevocationBodyIssuerFieldEvent {
    field: '$.issuer'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<RevocationBody>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RevocationBody.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RevocationBody>): RevocationBody {
    return decodeMessage(buf, RevocationBody.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RevocationBody>): Generator<RevocationBodyFederationFieldEvent | RevocationBodySubjectFieldEvent | RevocationBodyRevokedAtFieldEvent | RevocationBodyIssuerFieldEvent> {
    return streamMessage(buf, RevocationBody.codec(), opts)
  }
}

export interface Revocation {
  body: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace Revocation {
  let _codec: Codec<Revocation>

  export const codec = (): Codec<Revocation> => {
    if (_codec == null) {
      _codec = message<Revocation>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.body)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          body: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.body = reader.bytes()
              break
            }
            case 2: {
              obj.signature = reader.bytes()
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
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
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

  export interface RevocationBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RevocationSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Revocation>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Revocation.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Revocation>): Revocation {
    return decodeMessage(buf, Revocation.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Revocation>): Generator<RevocationBodyFieldEvent | RevocationSignatureFieldEvent> {
    return streamMessage(buf, Revocation.codec(), opts)
  }
}

export interface Roster {
  certificates: Certificate[]
  revocations: Revocation[]
}

export namespace Roster {
  let _codec: Codec<Roster>

  export const codec = (): Codec<Roster> => {
    if (_codec == null) {
      _codec = message<Roster>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.certificates != null && obj.certificates.length > 0) {
          for (const value of obj.certificates) {
            w.uint32(10)
            Certificate.codec().encode(value, w)
          }
        }

        if (obj.revocations != null && obj.revocations.length > 0) {
          for (const value of obj.revocations) {
            w.uint32(18)
            Revocation.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          certificates: [],
          revocations: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.certificates != null && obj.certificates.length === opts.limits.certificates) {
                throw new MaxLengthError('Decode error - repeated field "certificates" had too many elements')
              }

              if (obj.certificates.length === 4096) {
                throw new MaxLengthError('Decode error - repeated field "certificates" had too many elements')
              }

              obj.certificates.push(Certificate.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.certificates$
              }))
              break
            }
            case 2: {
              if (opts.limits?.revocations != null && obj.revocations.length === opts.limits.revocations) {
                throw new MaxLengthError('Decode error - repeated field "revocations" had too many elements')
              }

              if (obj.revocations.length === 4096) {
                throw new MaxLengthError('Decode error - repeated field "revocations" had too many elements')
              }

              obj.revocations.push(Revocation.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.revocations$
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
          certificates: 4096,
          revocations: 4096
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.certificates != null && obj.certificates === opts.limits.certificates) {
                throw new MaxLengthError('Streaming decode error - repeated field "certificates" had too many elements')
              }

              if (obj.certificates === 4096) {
                throw new MaxLengthError('Streaming decode error - repeated field "certificates" had too many elements')
              }

              for (const evt of Certificate.codec().stream(reader, reader.uint32(), `${prefix}.certificates[]`, {
                limits: opts.limits?.certificates$
              })) {
                yield {
                  ...evt,
                  index: obj.certificates
                }
              }

              obj.certificates++

              break
            }
            case 2: {
              if (opts.limits?.revocations != null && obj.revocations === opts.limits.revocations) {
                throw new MaxLengthError('Streaming decode error - repeated field "revocations" had too many elements')
              }

              if (obj.revocations === 4096) {
                throw new MaxLengthError('Streaming decode error - repeated field "revocations" had too many elements')
              }

              for (const evt of Revocation.codec().stream(reader, reader.uint32(), `${prefix}.revocations[]`, {
                limits: opts.limits?.revocations$
              })) {
                yield {
                  ...evt,
                  index: obj.revocations
                }
              }

              obj.revocations++

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

  export interface RosterCertificatesBodyFieldEvent {
    field: '$.certificates[].body'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RosterCertificatesSignatureFieldEvent {
    field: '$.certificates[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RosterRevocationsBodyFieldEvent {
    field: '$.revocations[].body'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RosterRevocationsSignatureFieldEvent {
    field: '$.revocations[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<Roster>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Roster.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Roster>): Roster {
    return decodeMessage(buf, Roster.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Roster>): Generator<RosterCertificatesBodyFieldEvent | RosterCertificatesSignatureFieldEvent | RosterRevocationsBodyFieldEvent | RosterRevocationsSignatureFieldEvent> {
    return streamMessage(buf, Roster.codec(), opts)
  }
}

export interface Hello {
  rootKey: Uint8Array<ArrayBuffer>
  chain: Certificate[]
  rosterDigest: Uint8Array<ArrayBuffer>
  nowMs: number
  federation: Uint8Array<ArrayBuffer>
}

export namespace Hello {
  let _codec: Codec<Hello>

  export const codec = (): Codec<Hello> => {
    if (_codec == null) {
      _codec = message<Hello>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.rootKey != null && obj.rootKey.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.rootKey)
        }

        if (obj.chain != null && obj.chain.length > 0) {
          for (const value of obj.chain) {
            w.uint32(18)
            Certificate.codec().encode(value, w)
          }
        }

        if ((obj.rosterDigest != null && obj.rosterDigest.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.rosterDigest)
        }

        if ((obj.nowMs != null && obj.nowMs !== 0)) {
          w.uint32(32)
          w.uint64Number(obj.nowMs)
        }

        if ((obj.federation != null && obj.federation.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.federation)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          rootKey: uint8ArrayAlloc(0),
          chain: [],
          rosterDigest: uint8ArrayAlloc(0),
          nowMs: 0,
          federation: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.rootKey = reader.bytes()
              break
            }
            case 2: {
              if (opts.limits?.chain != null && obj.chain.length === opts.limits.chain) {
                throw new MaxLengthError('Decode error - repeated field "chain" had too many elements')
              }

              if (obj.chain.length === 8) {
                throw new MaxLengthError('Decode error - repeated field "chain" had too many elements')
              }

              obj.chain.push(Certificate.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.chain$
              }))
              break
            }
            case 3: {
              obj.rosterDigest = reader.bytes()
              break
            }
            case 4: {
              obj.nowMs = reader.uint64Number()
              break
            }
            case 5: {
              obj.federation = reader.bytes()
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
          chain: 8
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.rootKey`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              if (opts.limits?.chain != null && obj.chain === opts.limits.chain) {
                throw new MaxLengthError('Streaming decode error - repeated field "chain" had too many elements')
              }

              if (obj.chain === 8) {
                throw new MaxLengthError('Streaming decode error - repeated field "chain" had too many elements')
              }

              for (const evt of Certificate.codec().stream(reader, reader.uint32(), `${prefix}.chain[]`, {
                limits: opts.limits?.chain$
              })) {
                yield {
                  ...evt,
                  index: obj.chain
                }
              }

              obj.chain++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.rosterDigest`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.nowMs`,
                value: reader.uint64Number()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.federation`,
                value: reader.bytes()
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

  export interface HelloRootKeyFieldEvent {
    field: '$.rootKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HelloChainBodyFieldEvent {
    field: '$.chain[].body'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface HelloChainSignatureFieldEvent {
    field: '$.chain[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface HelloRosterDigestFieldEvent {
    field: '$.rosterDigest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface HelloNowMsFieldEvent {
    field: '$.nowMs'
    value: number
  }

  export interface HelloFederationFieldEvent {
    field: '$.federation'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Hello>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Hello.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hello>): Hello {
    return decodeMessage(buf, Hello.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hello>): Generator<HelloRootKeyFieldEvent | HelloChainBodyFieldEvent | HelloChainSignatureFieldEvent | HelloRosterDigestFieldEvent | HelloNowMsFieldEvent | HelloFederationFieldEvent> {
    return streamMessage(buf, Hello.codec(), opts)
  }
}

export enum RequestType {
  HELLO = 'HELLO',
  JOIN = 'JOIN',
  RENEW = 'RENEW'
}

enum __RequestTypeValues {
  HELLO = 0,
  JOIN = 1,
  RENEW = 2
}

export namespace RequestType {
  export const codec = (): Codec<RequestType> => {
    return enumeration<RequestType>(__RequestTypeValues)
  }
}

export interface Request {
  type: RequestType
  hello?: Hello
  inviteSecret: Uint8Array<ArrayBuffer>
  name: string
}

export namespace Request {
  let _codec: Codec<Request>

  export const codec = (): Codec<Request> => {
    if (_codec == null) {
      _codec = message<Request>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.type != null && __RequestTypeValues[obj.type] !== 0) {
          w.uint32(8)
          RequestType.codec().encode(obj.type, w)
        }

        if (obj.hello != null) {
          w.uint32(18)
          Hello.codec().encode(obj.hello, w)
        }

        if ((obj.inviteSecret != null && obj.inviteSecret.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.inviteSecret)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(34)
          w.string(obj.name)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          type: RequestType.HELLO,
          inviteSecret: uint8ArrayAlloc(0),
          name: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.type = RequestType.codec().decode(reader)
              break
            }
            case 2: {
              obj.hello = Hello.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.hello
              })
              break
            }
            case 3: {
              obj.inviteSecret = reader.bytes()
              break
            }
            case 4: {
              obj.name = reader.string()
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
                field: `${prefix}.type`,
                value: RequestType.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield * Hello.codec().stream(reader, reader.uint32(), `${prefix}.hello`, {
                limits: opts.limits?.hello
              })

              break
            }
            case 3: {
              yield {
                field: `${prefix}.inviteSecret`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
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

  export interface RequestTypeFieldEvent {
    field: '$.type'
    value: RequestType
  }

  export interface RequestHelloRootKeyFieldEvent {
    field: '$.hello.rootKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RequestHelloChainBodyFieldEvent {
    field: '$.hello.chain[].body'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RequestHelloChainSignatureFieldEvent {
    field: '$.hello.chain[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RequestHelloRosterDigestFieldEvent {
    field: '$.hello.rosterDigest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RequestHelloNowMsFieldEvent {
    field: '$.hello.nowMs'
    value: number
  }

  export interface RequestHelloFederationFieldEvent {
    field: '$.hello.federation'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RequestInviteSecretFieldEvent {
    field: '$.inviteSecret'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RequestNameFieldEvent {
    field: '$.name'
    value: string
  }

  export function encode (obj: Partial<Request>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Request.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Request>): Request {
    return decodeMessage(buf, Request.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Request>): Generator<RequestTypeFieldEvent | RequestHelloRootKeyFieldEvent | RequestHelloChainBodyFieldEvent | RequestHelloChainSignatureFieldEvent | RequestHelloRosterDigestFieldEvent | RequestHelloNowMsFieldEvent | RequestHelloFederationFieldEvent | RequestInviteSecretFieldEvent | RequestNameFieldEvent> {
    return streamMessage(buf, Request.codec(), opts)
  }
}

export enum Status {
  OK = 'OK',
  NOT_MEMBER = 'NOT_MEMBER',
  REVOKED = 'REVOKED',
  INVITE_INVALID = 'INVITE_INVALID',
  NOT_ADMIN = 'NOT_ADMIN',
  REFUSED = 'REFUSED'
}

enum __StatusValues {
  OK = 0,
  NOT_MEMBER = 1,
  REVOKED = 2,
  INVITE_INVALID = 3,
  NOT_ADMIN = 4,
  REFUSED = 5
}

export namespace Status {
  export const codec = (): Codec<Status> => {
    return enumeration<Status>(__StatusValues)
  }
}

export interface Response {
  status: Status
  message: string
  hello?: Hello
  chain: Certificate[]
  rootKey: Uint8Array<ArrayBuffer>
  federationName: string
  revocation?: Revocation
}

export namespace Response {
  let _codec: Codec<Response>

  export const codec = (): Codec<Response> => {
    if (_codec == null) {
      _codec = message<Response>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.status != null && __StatusValues[obj.status] !== 0) {
          w.uint32(8)
          Status.codec().encode(obj.status, w)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(18)
          w.string(obj.message)
        }

        if (obj.hello != null) {
          w.uint32(26)
          Hello.codec().encode(obj.hello, w)
        }

        if (obj.chain != null && obj.chain.length > 0) {
          for (const value of obj.chain) {
            w.uint32(34)
            Certificate.codec().encode(value, w)
          }
        }

        if ((obj.rootKey != null && obj.rootKey.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.rootKey)
        }

        if ((obj.federationName != null && obj.federationName !== '')) {
          w.uint32(50)
          w.string(obj.federationName)
        }

        if (obj.revocation != null) {
          w.uint32(58)
          Revocation.codec().encode(obj.revocation, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: Status.OK,
          message: '',
          chain: [],
          rootKey: uint8ArrayAlloc(0),
          federationName: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = Status.codec().decode(reader)
              break
            }
            case 2: {
              obj.message = reader.string()
              break
            }
            case 3: {
              obj.hello = Hello.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.hello
              })
              break
            }
            case 4: {
              if (opts.limits?.chain != null && obj.chain.length === opts.limits.chain) {
                throw new MaxLengthError('Decode error - repeated field "chain" had too many elements')
              }

              if (obj.chain.length === 8) {
                throw new MaxLengthError('Decode error - repeated field "chain" had too many elements')
              }

              obj.chain.push(Certificate.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.chain$
              }))
              break
            }
            case 5: {
              obj.rootKey = reader.bytes()
              break
            }
            case 6: {
              obj.federationName = reader.string()
              break
            }
            case 7: {
              obj.revocation = Revocation.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.revocation
              })
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
          chain: 8
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.status`,
                value: Status.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield * Hello.codec().stream(reader, reader.uint32(), `${prefix}.hello`, {
                limits: opts.limits?.hello
              })

              break
            }
            case 4: {
              if (opts.limits?.chain != null && obj.chain === opts.limits.chain) {
                throw new MaxLengthError('Streaming decode error - repeated field "chain" had too many elements')
              }

              if (obj.chain === 8) {
                throw new MaxLengthError('Streaming decode error - repeated field "chain" had too many elements')
              }

              for (const evt of Certificate.codec().stream(reader, reader.uint32(), `${prefix}.chain[]`, {
                limits: opts.limits?.chain$
              })) {
                yield {
                  ...evt,
                  index: obj.chain
                }
              }

              obj.chain++

              break
            }
            case 5: {
              yield {
                field: `${prefix}.rootKey`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.federationName`,
                value: reader.string()
              }
              break
            }
            case 7: {
              yield * Revocation.codec().stream(reader, reader.uint32(), `${prefix}.revocation`, {
                limits: opts.limits?.revocation
              })

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

  export interface ResponseStatusFieldEvent {
    field: '$.status'
    value: Status
  }

  export interface ResponseMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface ResponseHelloRootKeyFieldEvent {
    field: '$.hello.rootKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResponseHelloChainBodyFieldEvent {
    field: '$.hello.chain[].body'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseHelloChainSignatureFieldEvent {
    field: '$.hello.chain[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseHelloRosterDigestFieldEvent {
    field: '$.hello.rosterDigest'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResponseHelloNowMsFieldEvent {
    field: '$.hello.nowMs'
    value: number
  }

  export interface ResponseHelloFederationFieldEvent {
    field: '$.hello.federation'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResponseChainBodyFieldEvent {
    field: '$.chain[].body'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseChainSignatureFieldEvent {
    field: '$.chain[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ResponseRootKeyFieldEvent {
    field: '$.rootKey'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResponseFederationNameFieldEvent {
    field: '$.federationName'
    value: string
  }

  export interface ResponseRevocationBodyFieldEvent {
    field: '$.revocation.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResponseRevocationSignatureFieldEvent {
    field: '$.revocation.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Response>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Response.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Response>): Response {
    return decodeMessage(buf, Response.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Response>): Generator<ResponseStatusFieldEvent | ResponseMessageFieldEvent | ResponseHelloRootKeyFieldEvent | ResponseHelloChainBodyFieldEvent | ResponseHelloChainSignatureFieldEvent | ResponseHelloRosterDigestFieldEvent | ResponseHelloNowMsFieldEvent | ResponseHelloFederationFieldEvent | ResponseChainBodyFieldEvent | ResponseChainSignatureFieldEvent | ResponseRootKeyFieldEvent | ResponseFederationNameFieldEvent | ResponseRevocationBodyFieldEvent | ResponseRevocationSignatureFieldEvent> {
    return streamMessage(buf, Response.codec(), opts)
  }
}
