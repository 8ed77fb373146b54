import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { packageRoot } from '../../util/package-root.js'
import type { Route, RouteResult } from './server.js'

/**
 * The dashboard: static files from the package's `ui/` folder, served without a token (they hold
 * no data; the page asks for the token once and calls the API with it). Everything the page
 * loads comes from this daemon: no CDN, no inline script (the CSP forbids both).
 */

const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml'
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY'
}

/** The package's `ui/` folder (beside `src/` and `dist/`). */
export function uiDir (): string | undefined {
  const dir = join(packageRoot(), 'ui') + sep
  return existsSync(dir + 'index.html') ? dir : undefined
}

export function uiRoutes (dir = uiDir()): Route[] {
  const files = new Map<string, Promise<string>>()
  const asset = async (name: string): Promise<RouteResult> => {
    if (dir == null) return { status: 404, text: 'the dashboard files (ui/) are not installed with this build\n' }
    let text = files.get(name)
    if (text == null) {
      text = readFile(dir + name, 'utf8')
      files.set(name, text)
      text.catch(() => { files.delete(name) })
    }
    return { text: await text, contentType: ASSETS[name], headers: SECURITY_HEADERS }
  }
  const moved: RouteResult = { status: 308, text: 'the dashboard is at /ui/\n', headers: { location: '/ui/' } }
  return [
    { method: 'GET', path: /^\/(ui)?$/, public: true, handle: async () => moved },
    { method: 'GET', path: /^\/ui\/$/, public: true, handle: async () => asset('index.html') },
    ...['app.js', 'style.css', 'favicon.svg'].map((name): Route => ({
      method: 'GET',
      path: new RegExp(`^/ui/${name.replace('.', '\\.')}$`),
      public: true,
      handle: async () => asset(name)
    }))
  ]
}
