/**
 * Colour only where a person reads it: a TTY, no `NO_COLOR` (https://no-color.org: set and not
 * empty), no `TERM=dumb`; `FORCE_COLOR` (not 0) turns it on anywhere. Piped output never has
 * escape codes, so scripts and files get plain text.
 */
export function wantsColor (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR != null && env.NO_COLOR !== '') return false
  if (env.FORCE_COLOR != null && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0'
  if (env.TERM === 'dumb') return false
  return stream.isTTY === true
}

const CODES = { red: [31, 39], green: [32, 39], yellow: [33, 39], dim: [2, 22], bold: [1, 22] } as const
export type Style = keyof typeof CODES

/** `text` in a style when `on`, else as is. */
export function paint (on: boolean, style: Style, text: string): string {
  if (!on) return text
  const [open, close] = CODES[style]
  return `\u001b[${open}m${text}\u001b[${close}m`
}

/** The colour of a task status: ok green, error red, waiting yellow. */
export function paintStatus (on: boolean, status: string): string {
  if (status.startsWith('ok')) return paint(on, 'green', status)
  if (status.startsWith('error')) return paint(on, 'red', status)
  return paint(on, 'yellow', status)
}
