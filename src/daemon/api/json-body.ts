import { BadRequestError, TooLargeError } from '../../util/errors.js'
import type { IncomingMessage } from 'node:http'

export interface JsonBodyLimits {
  /** Largest body, bytes. */
  maxBytes: number
  /** Deepest nesting of arrays and objects. */
  maxDepth: number
}

const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * The deepest nesting of arrays and objects in JSON text, scanning bytes once without recursion
 * (brackets inside strings do not count). It stops counting once past `limit`: JSON.parse itself
 * copes with deep input, but everything after it that walks the value recursively (validation,
 * JSON.stringify of a task input) overflows the stack, so depth is refused before parsing.
 */
export function jsonDepth (bytes: Uint8Array, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    if (inString) {
      if (b === BACKSLASH) i++
      else if (b === QUOTE) inString = false
      continue
    }
    if (b === QUOTE) {
      inString = true
    } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
      if (++depth > deepest) {
        deepest = depth
        if (deepest > limit) return deepest
      }
    } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
      depth--
    }
  }
  return deepest
}

/** The body's declared length (Content-Length), or undefined when it declares none (chunked). */
export function declaredBytes (req: IncomingMessage): number | undefined {
  const declared = Number(req.headers['content-length'])
  return Number.isFinite(declared) && declared >= 0 ? declared : undefined
}

/** Read and parse a JSON request body within limits: 413 past the size, 400 past the depth or when not JSON. */
export async function readJsonBody (req: IncomingMessage, limits: JsonBodyLimits): Promise<unknown> {
  const tooLarge = (): TooLargeError => new TooLargeError(`request body larger than ${limits.maxBytes} bytes`)
  if ((declaredBytes(req) ?? 0) > limits.maxBytes) throw tooLarge()
  const chunks: Buffer[] = []
  let size = 0
  // Leaving the loop early must not destroy the request: the server may still read and drop the
  // rest of an over-size body, so its client gets the 413 instead of a reset connection.
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    size += (chunk as Buffer).length
    if (size > limits.maxBytes) throw tooLarge()
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return undefined
  const bytes = Buffer.concat(chunks)
  if (jsonDepth(bytes, limits.maxDepth) > limits.maxDepth) {
    throw new BadRequestError(`request body is nested deeper than ${limits.maxDepth} levels`)
  }
  try {
    return JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new BadRequestError('request body is not valid JSON')
  }
}
