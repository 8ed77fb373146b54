/** ExecStart of a systemd unit split into words the way systemd splits it (quotes, backslashes, %% and $$). */
export function execStartWords (unit: string): string[] {
  const line = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? ''
  const words: string[] = []
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    const raw = m[1] != null ? m[1].replace(/\\(.)/g, '$1') : m[2]
    words.push(raw.replace(/%%/g, '%').replace(/\$\$/g, '$'))
  }
  return words
}
