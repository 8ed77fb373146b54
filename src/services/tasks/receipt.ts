import { createHash } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Claim } from '../../wire/evidence.js'
import type { PrivateKey } from '@libp2p/interface'

/**
 * Receipts (protocols/evidence.md): a server's signature saying "running `kind` on this input as
 * task `taskId` gave this output, at this time". Anyone holding the input can check a claim
 * against the signer's peer id, and re-run the kind to see whether the claim was true.
 */
const DOMAIN = new TextEncoder().encode('fedmesh-receipt/1')
const SEP = new Uint8Array([0])
/** Ed25519 signatures are 64 bytes; room for other key types, never unbounded. */
export const MAX_SIGNATURE_BYTES = 128

export interface Receipt {
  signature: Uint8Array
  /** Seconds since the Unix epoch. */
  at: number
}

export function sha256 (bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest()
}

function body (taskId: string, kind: string, at: number, inputDigest: Uint8Array, outputDigest: Uint8Array): Uint8Array {
  const time = Buffer.alloc(4)
  time.writeUInt32BE(at >>> 0)
  return Buffer.concat([DOMAIN, SEP, Buffer.from(taskId), SEP, Buffer.from(kind), SEP, time, inputDigest, outputDigest])
}

export async function signReceipt (key: PrivateKey, taskId: string, kind: string, input: Uint8Array, output: Uint8Array, nowMs: number): Promise<Receipt> {
  const at = Math.floor(nowMs / 1000)
  return { signature: await key.sign(body(taskId, kind, at, sha256(input), sha256(output))), at }
}

/** Whether `claim` is really signed by its signer for this kind and input (digest given). */
export async function verifyClaim (claim: Claim, kind: string, inputDigest: Uint8Array): Promise<boolean> {
  if (claim.outputDigest.byteLength !== 32 || claim.signature.byteLength === 0 || claim.signature.byteLength > MAX_SIGNATURE_BYTES) return false
  try {
    const key = peerIdFromString(claim.signer).publicKey
    if (key == null) return false
    return await key.verify(body(claim.taskId, kind, claim.issuedAt, inputDigest, claim.outputDigest), claim.signature)
  } catch {
    return false
  }
}
