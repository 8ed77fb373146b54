/// <reference lib="dom" />
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, startDaemon, stopAll, tempDir } from '../helpers/daemon.js'
import { chromiumUnavailable, launchBrowser } from '../helpers/browser.js'
import type { TestBrowser } from '../helpers/browser.js'
import type { Page } from 'puppeteer-core'

/**
 * The dashboard as a person sees it, in Debian's chromium: the token asked once and kept for the
 * tab, a peer appearing when it joins, a task moving from queued to done. With
 * FEDMESH_SCREENSHOT=1 it also writes docs/dashboard.png (the README's picture).
 */
const why = chromiumUnavailable()

/** The visible text of the first element matching `selector`, or undefined. */
async function textOf (page: Page, selector: string): Promise<string | undefined> {
  return page.$eval(selector, el => (el as HTMLElement).innerText.trim()).catch(() => undefined)
}

describe.skipIf(why != null)(`the dashboard in a headless browser${why != null ? ` (skipped: ${why})` : ''}`, () => {
  let chromium: TestBrowser | undefined

  afterAll(async () => {
    await chromium?.close()
    await stopAll()
  })

  it('asks for the token once, shows a peer that joins, and a task going from queued to done', async () => {
    const a = await startDaemon({ name: 'alpha', args: ['--concurrency', '1'] })
    const url = await a.apiUrl()
    chromium = await launchBrowser()
    const page = await chromium.browser.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', err => { pageErrors.push(String(err)) })
    await page.setViewport({ width: 1200, height: 900 })

    // The daemon's address sends a browser to the dashboard.
    await page.goto(url)
    expect(page.url()).toBe(`${url}/ui/`)
    await page.waitForSelector('#login-form', { visible: true })
    expect(await page.$eval('#app', el => (el as HTMLElement).hidden)).toBe(true)

    // A wrong token is refused in a sentence, and the form stays.
    await page.type('#token', 'not-the-token')
    await page.click('#login-form button')
    await page.waitForFunction(() => document.getElementById('login-error')?.textContent?.includes('refused'))
    expect(await textOf(page, '#login-error')).toMatch(/token was refused/)

    await page.type('#token', await a.token())
    await page.click('#login-form button')
    await page.waitForSelector('#app', { visible: true })
    await page.waitForFunction(() => document.getElementById('node-name')?.textContent === 'alpha')

    // Kept for the tab's session: a reload goes straight to the dashboard.
    await page.reload()
    await page.waitForSelector('#app', { visible: true })
    expect(await page.$eval('#login', el => (el as HTMLElement).hidden)).toBe(true)
    await page.waitForFunction(() => document.getElementById('node-name')?.textContent === 'alpha')
    expect(await textOf(page, '#no-peers')).toBe('No peers yet.')

    // A new peer appears, by name, connected directly, and on the map.
    const b = await startDaemon({ name: 'bravo', args: ['--concurrency', '1', '--bootstrap', await a.address()] })
    const bravo = await b.peerId()
    await page.waitForFunction((id: string) => {
      const row = document.querySelector(`#peers tr[data-peer-id="${id}"]`)
      return row?.querySelector('.name')?.textContent === 'bravo' && row.querySelector('.state')?.textContent === 'connected'
    }, { timeout: 20_000 }, bravo)
    expect(await textOf(page, `#peers tr[data-peer-id="${bravo}"] .connection`)).toBe('direct')
    await page.waitForSelector(`#map g[data-peer-id="${bravo}"]`, { timeout: 10_000 })
    await page.waitForFunction(() => document.querySelector('#events li[data-type="peer:connected"]') != null)
    await page.waitForFunction(() => document.getElementById('mode')?.textContent === 'federated', { timeout: 10_000 })
    // A third node, known to alpha through bravo: the map places three points.
    const c = await startDaemon({ name: 'charlie', args: ['--concurrency', '1', '--bootstrap', await b.address()] })
    const charlie = await c.peerId()
    await page.waitForFunction((id: string) => document.querySelector(`#peers tr[data-peer-id="${id}"] .name`)?.textContent === 'charlie', { timeout: 20_000 }, charlie)

    // More tasks than the three slots take at once: some wait in alpha's admission queue.
    const runs = Array.from({ length: 10 }, async () => a.api('POST', '/v1/tasks', { kind: 'sleep', input: { ms: 1500 } }))
    const queued = await page.waitForFunction(() => {
      const row = Array.from(document.querySelectorAll('#tasks tbody tr')).find(r => r.querySelector('.status')?.textContent === 'queued')
      return (row as HTMLElement | undefined)?.dataset.taskId ?? false
    }, { timeout: 15_000, polling: 50 })
    const taskId = await queued.jsonValue() as string
    expect(taskId).toMatch(/^[0-9a-f-]{36}$/)
    await page.waitForFunction((id: string) => document.querySelector(`#tasks tr[data-task-id="${id}"] .status`)?.textContent === 'ok', { timeout: 30_000 }, taskId)
    const results = await Promise.all(runs)
    expect(results.map(r => r.body.status)).toEqual(Array(10).fill('ok'))
    await page.waitForFunction(() => document.querySelectorAll('#tasks tbody .status.ok').length === 10)
    await page.waitForFunction(() => document.querySelector('#events li[data-type="task:finished"]') != null)

    if (process.env.FEDMESH_SCREENSHOT === '1') {
      await page.screenshot({ path: join(ROOT, 'docs', 'dashboard.png'), fullPage: true })
    } else {
      await page.screenshot({ path: join(await tempDir(), 'dashboard.png'), fullPage: true })
    }
    expect(pageErrors).toEqual([])
  })
})
