/** Evidence waiting at most for this node's one run at a time (more is not examined). */
export const LINE_LENGTH = 16

/**
 * The examination line's rule when it is full: turn away the newest evidence of the sender with
 * the most waiting, when that is at least two more than the newcomer's sender has (so the swap
 * leaves it no fewer than the newcomer's). A few senders' bursts cannot fill the line and shut
 * out a proof from anyone else. Shared by the evidence service and the simulator's model of it.
 * Returns the index in `senders` (oldest first) to turn away, or -1: the newcomer is turned away.
 */
export function placeToFree<K> (senders: readonly K[], newcomer: K): number {
  const counts = new Map<K, number>()
  for (const s of senders) counts.set(s, (counts.get(s) ?? 0) + 1)
  let most = newcomer
  for (const [sender, n] of counts) if (n > (counts.get(most) ?? 0)) most = sender
  if ((counts.get(most) ?? 0) < (counts.get(newcomer) ?? 0) + 2) return -1
  return senders.lastIndexOf(most)
}

/**
 * `item` joins the end of `line` (oldest first, at most `LINE_LENGTH`), making room by the rule
 * above when it is full. `joined` false: no room for it; `displaced`: the one it turned away.
 */
export function joinLine<T extends { from: unknown }> (line: T[], item: T): { joined: boolean, displaced?: T } {
  let displaced: T | undefined
  if (line.length >= LINE_LENGTH) {
    const index = placeToFree(line.map(w => w.from), item.from)
    if (index < 0) return { joined: false }
    displaced = line.splice(index, 1)[0]
  }
  line.push(item)
  return { joined: true, displaced }
}
