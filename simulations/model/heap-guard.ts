/**
 * Keeps a long model run's heap near its live set: V8 lets a heap full of short-lived decision
 * garbage grow far past it (10,000 peers: 2.6 GB of RSS for 1.2 GB live), so a full collection
 * now and then, once the heap is big, keeps the footprint down. It changes nothing the
 * simulation computes. Each thread (the main one, each engine worker) guards its own heap.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** Force a full collection once the heap holds more than this ... */
export const GC_ABOVE_BYTES = 768 * 1024 * 1024
/**
 * ... and half again what was live after the last forced one. (Without this second bound a heap
 * whose live set is past GC_ABOVE_BYTES, 10,000 peers, was collected in full at every check:
 * a second or more of marking every 50,000 events.)
 */
export const GC_GROWTH = 1.5

/** A check to call now and then: a full collection when this thread's heap has grown past the bounds. */
export function heapGuard (): () => void {
  const gc = fullGc()
  let line = GC_ABOVE_BYTES
  return () => {
    if (gc === undefined || process.memoryUsage().heapUsed <= line) return
    gc()
    line = Math.max(GC_ABOVE_BYTES, GC_GROWTH * process.memoryUsage().heapUsed)
  }
}

/** The engine's full garbage collection, when it can be had without a command-line flag. */
function fullGc (): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as unknown
    return typeof gc === 'function' ? gc as () => void : undefined
  } catch {
    return undefined
  }
}
