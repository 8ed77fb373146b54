/* global document, sessionStorage */
// fedmesh dashboard: plain DOM, no framework, no network beyond this daemon's control API.
// Everything shown comes from GET /v1/status, /v1/peers, /v1/tasks and the event stream
// GET /v1/events; all text is set with textContent (never parsed as HTML).

const TOKEN_KEY = 'fedmesh.apiToken'
const POLL_MS = 1500
const EVENTS_SHOWN = 100
const TASKS_SHOWN = 50

const $ = (id) => document.getElementById(id)
let token = sessionStorage.getItem(TOKEN_KEY)
let pollTimer
let refreshTimer
let stream
let lastEventId = 0

class Unauthorized extends Error {}

async function api (path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' })
  if (res.status === 401) throw new Unauthorized('the daemon refused this token')
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`)
  return res.json()
}

// ---- login -----------------------------------------------------------------------------------

function showLogin (message = '') {
  clearInterval(pollTimer)
  stream?.abort()
  $('app').hidden = true
  $('login').hidden = false
  $('login-error').textContent = message
  $('token').value = ''
  $('token').focus()
}

$('login-form').addEventListener('submit', async (evt) => {
  evt.preventDefault()
  token = $('token').value.trim()
  try {
    await api('/v1/status')
  } catch (err) {
    showLogin(err instanceof Unauthorized ? 'That token was refused. Copy it again from api.token.' : `Cannot reach the daemon: ${err.message}`)
    return
  }
  sessionStorage.setItem(TOKEN_KEY, token)
  $('token').value = ''
  start()
})

$('signout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY)
  token = null
  showLogin()
})

// ---- formatting --------------------------------------------------------------------------------

function shortId (id) {
  return id.length > 16 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id
}

function duration (ms) {
  if (ms == null) return '-'
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${Math.floor(s % 60)}s`
  const h = Math.floor(m / 60)
  return h < 48 ? `${h}h ${m % 60}m` : `${Math.floor(h / 24)}d ${h % 24}h`
}

function bytes (n) {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

function clockTime (ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false })
}

function cell (text, className) {
  const td = document.createElement('td')
  td.textContent = text
  if (className) td.className = className
  return td
}

function setText (id, text) {
  const el = $(id)
  if (el.textContent !== text) el.textContent = text
}

// ---- rendering ---------------------------------------------------------------------------------

function renderStatus (s) {
  document.title = `fedmesh · ${s.name}`
  setText('node-name', s.name)
  setText('node-id', s.peerId)
  const mode = $('mode')
  mode.textContent = s.mode
  mode.className = `badge ${s.mode}`
  setText('peer-count', String(s.peers))
  setText('uptime', duration(s.uptimeMs))
  setText('version', `v${s.version}`)
  const c = s.capacity
  if (c != null) {
    setText('slots', `${c.running} of ${c.concurrency} running`)
    $('slots-bar').style.width = `${Math.min(100, (100 * c.running) / Math.max(1, c.concurrency))}%`
    setText('queue-depth', `${c.queueDepth} waiting here`)
  }
  setText('cache-size', s.cache != null ? `${s.cache.entries} entries, ${bytes(s.cache.bytes)}` : '-')
  setText('storage', s.storage == null || s.storage.ok ? 'ok' : `FAILING: ${s.storage.error ?? ''} (writes refused)`)
  const k = s.clock
  setText('clock', k == null ? '-' : k.offsetMs == null ? 'no peer clock yet' : `${k.offsetMs >= 0 ? '+' : ''}${(k.offsetMs / 1000).toFixed(1)} s vs ${k.clocks} clocks`)
}

function peerState (p) {
  if (p.reputationState === 'banned') return 'banned'
  return p.connected ? 'connected' : 'disconnected'
}

function renderPeers (peers) {
  const body = $('peers').tBodies[0]
  const rows = peers
    .slice()
    .sort((a, b) => Number(b.connected) - Number(a.connected) || (a.name || a.peerId).localeCompare(b.name || b.peerId))
    .map(p => {
      const tr = document.createElement('tr')
      tr.dataset.peerId = p.peerId
      const state = peerState(p)
      tr.append(
        cell(p.name || '-', 'name'),
        cell(shortId(p.peerId), 'id mono'),
        cell(state, `state ${state}`),
        cell(p.connection ?? '-', 'connection'),
        cell(p.rttMs == null ? '-' : `${p.rttMs.toFixed(1)} ms`, 'rtt num'),
        cell(p.capacity == null ? '-' : `${p.capacity.running}/${p.capacity.concurrency}`, 'running num'),
        cell(p.capacity == null ? '-' : String(p.capacity.queueDepth), 'queue num'),
        cell(p.capacity == null ? '-' : p.capacity.load.toFixed(2), 'load num'),
        cell(String(Math.round(p.reputation)), 'reputation num'),
        cell(p.connected ? 'now' : p.lastSeenMs == null ? '-' : `${duration(p.lastSeenMs)} ago`, 'seen')
      )
      return tr
    })
  body.replaceChildren(...rows)
  $('no-peers').hidden = rows.length > 0
}

/** Peer ids → what to call them: this node, or a peer's name. */
let names = new Map()

function peerName (id) {
  return names.get(id) ?? shortId(id)
}

function renderTasks (tasks) {
  const waiting = tasks.filter(t => t.status === 'queued').length
  setText('waiting', `${waiting} task${waiting === 1 ? '' : 's'} submitted here`)
  const rows = tasks.slice(0, TASKS_SHOWN).map(t => {
    const tr = document.createElement('tr')
    tr.dataset.taskId = t.taskId
    tr.append(
      cell(t.taskId.slice(0, 8), 'task mono'),
      cell(t.kind, 'kind'),
      cell(t.status === 'error' ? `error ${t.errorCode ?? ''}`.trim() : t.status, `status ${t.status}`),
      cell(t.peer ? peerName(t.peer) : '-', 'peer'),
      cell(String(t.attempts), 'attempts num'),
      cell(duration(t.durationMs), 'took num'),
      cell(clockTime(t.submittedAt), 'submitted')
    )
    return tr
  })
  $('tasks').tBodies[0].replaceChildren(...rows)
  $('no-tasks').hidden = rows.length > 0
}

function addEvent (e) {
  const li = document.createElement('li')
  li.className = e.level
  li.dataset.type = e.type
  const time = document.createElement('span')
  time.className = 'time'
  time.textContent = clockTime(e.time)
  const type = document.createElement('span')
  type.className = 'type'
  type.textContent = e.type
  const message = document.createElement('span')
  message.className = 'message'
  message.textContent = e.message
  li.append(time, type, message)
  const list = $('events')
  list.prepend(li)
  while (list.children.length > EVENTS_SHOWN) list.lastElementChild.remove()
}

// ---- the map: Vivaldi coordinates projected on their two main axes -------------------------------

const SVG = 'http://www.w3.org/2000/svg'

function svg (name, attrs, text) {
  const el = document.createElementNS(SVG, name)
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v))
  if (text != null) el.textContent = text
  return el
}

/** The two directions along which the points spread most (power iteration on the covariance). */
function principalAxes (points) {
  const dims = points[0].length
  const mean = Array.from({ length: dims }, (_, i) => points.reduce((s, p) => s + p[i], 0) / points.length)
  const centred = points.map(p => p.map((v, i) => v - mean[i]))
  const cov = Array.from({ length: dims }, (_, i) => Array.from({ length: dims }, (_, j) => centred.reduce((s, p) => s + p[i] * p[j], 0)))
  const axes = []
  for (let k = 0; k < 2; k++) {
    let v = Array.from({ length: dims }, (_, i) => (i === k ? 1 : 0.1))
    for (let it = 0; it < 60; it++) {
      let next = cov.map(row => row.reduce((s, c, j) => s + c * v[j], 0))
      for (const a of axes) {
        const d = next.reduce((s, x, i) => s + x * a[i], 0)
        next = next.map((x, i) => x - d * a[i])
      }
      const norm = Math.hypot(...next)
      if (norm < 1e-9) break
      v = next.map(x => x / norm)
    }
    axes.push(v)
  }
  return centred.map(p => axes.map(a => p.reduce((s, x, i) => s + x * a[i], 0)))
}

function renderMap (status, peers) {
  const map = $('map')
  const W = 640
  const H = 300
  // Room for labels right of each point.
  const PAD_X = 120
  const PAD_Y = 30
  const nodes = [{ id: status.peerId, name: status.name, coord: status.coordinate, self: true, up: true }]
  for (const p of peers) if (p.coordinate != null) nodes.push({ id: p.peerId, name: p.name || shortId(p.peerId), coord: p.coordinate, self: false, up: p.connected, rtt: p.rttMs })
  const placed = nodes.filter(n => n.coord != null && n.coord.vec.length > 0)
  const children = []
  if (placed.length === 0) {
    children.push(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, 'no coordinates yet'))
    map.replaceChildren(...children)
    return
  }
  let xy = placed.length > 1 ? principalAxes(placed.map(n => n.coord.vec)) : [[0, 0]]
  let extent = Math.max(...xy.flat().map(Math.abs))
  if (!(extent > 0.05)) {
    // Nodes that have not measured each other yet sit together: fan them out around the centre.
    xy = placed.map((_, i) => i === 0 ? [0, 0] : [Math.cos((2 * Math.PI * i) / (placed.length - 1)), Math.sin((2 * Math.PI * i) / (placed.length - 1))])
    extent = 0
  }
  const scale = extent > 0 ? Math.min((W / 2 - PAD_X) / extent, (H / 2 - PAD_Y) / extent) : Math.min(W / 2 - PAD_X, H / 2 - PAD_Y)
  const at = (i) => [W / 2 + xy[i][0] * scale, H / 2 + xy[i][1] * scale]
  const selfAt = at(0)
  placed.forEach((n, i) => {
    if (!n.self && n.up) children.push(svg('line', { x1: selfAt[0], y1: selfAt[1], x2: at(i)[0], y2: at(i)[1], class: 'link' }))
  })
  // Labels go right of their point, moved up or down until they overlap no other label.
  const boxes = []
  const LINE = 13
  placed.forEach((n, i) => {
    const [x, y] = at(i)
    const label = `${n.name}${n.self ? ' (this node)' : n.rtt != null ? ` ${n.rtt.toFixed(1)} ms` : ''}`
    const width = label.length * 6.2
    let ly = y + 4
    for (const dy of [0, -LINE, LINE, -2 * LINE, 2 * LINE, -3 * LINE, 3 * LINE]) {
      ly = y + 4 + dy
      if (!boxes.some(b => x + 9 < b.x + b.w && b.x < x + 9 + width && Math.abs(b.y - ly) < LINE)) break
    }
    boxes.push({ x: x + 9, y: ly, w: width })
    const g = svg('g', { 'data-peer-id': n.id })
    g.append(svg('circle', { cx: x, cy: y, r: n.self ? 7 : 5.5, class: n.self ? 'self' : `peer${n.up ? '' : ' down'}` }))
    g.append(svg('text', { x: x + 9, y: ly }, label))
    children.push(g)
  })
  if (extent > 0) {
    // A scale bar: a round number of milliseconds near 60 px.
    const msPerPx = 1 / scale
    const target = 60 * msPerPx
    const step = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].find(s => s >= target) ?? 1000
    const len = step * scale
    children.push(svg('line', { x1: 12, y1: H - 12, x2: 12 + len, y2: H - 12, class: 'scale' }))
    children.push(svg('text', { x: 12, y: H - 17, class: 'scale-label' }, `${step} ms`))
  }
  map.replaceChildren(...children)
}

// ---- data flow ---------------------------------------------------------------------------------

async function refresh () {
  try {
    const [status, peers, tasks] = await Promise.all([api('/v1/status'), api('/v1/peers'), api('/v1/tasks')])
    names = new Map(peers.filter(p => p.name).map(p => [p.peerId, p.name]))
    names.set(status.peerId, `${status.name} (this node)`)
    renderStatus(status)
    renderPeers(peers)
    renderTasks(tasks)
    renderMap(status, peers)
  } catch (err) {
    if (err instanceof Unauthorized) showLogin('The daemon no longer accepts this token (restarted?). Paste the new one.')
  }
}

/** Events arrive in bursts: one refresh shortly after, not one per event. */
function refreshSoon () {
  clearTimeout(refreshTimer)
  refreshTimer = setTimeout(refresh, 150)
}

function setLive (state) {
  const live = $('live')
  live.textContent = state
  live.className = `badge ${state}`
}

/** GET /v1/events with the token in a header (EventSource cannot send one), parsed as SSE. */
async function followEvents () {
  stream?.abort()
  const controller = new AbortController()
  stream = controller
  while (!controller.signal.aborted) {
    try {
      const res = await fetch(`/v1/events?level=info&since=${lastEventId}`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: controller.signal })
      if (res.status === 401) {
        showLogin('The daemon no longer accepts this token.')
        return
      }
      if (!res.ok || res.body == null) throw new Error(`HTTP ${res.status}`)
      setLive('live')
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffered = ''
      while (true) {
        const { value, done } = await reader.read()
        if (done) break
        buffered += value
        const blocks = buffered.split('\n\n')
        buffered = blocks.pop()
        for (const block of blocks) {
          const data = block.split('\n').filter(l => l.startsWith('data:')).map(l => l.slice(5).trim()).join('\n')
          if (data === '') continue
          const e = JSON.parse(data)
          lastEventId = Math.max(lastEventId, e.id)
          addEvent(e)
          refreshSoon()
        }
      }
    } catch (err) {
      if (controller.signal.aborted) return
    }
    setLive('reconnecting')
    await new Promise(resolve => setTimeout(resolve, 2000))
  }
}

function start () {
  $('login').hidden = true
  $('app').hidden = false
  refresh()
  clearInterval(pollTimer)
  pollTimer = setInterval(refresh, POLL_MS)
  followEvents()
}

if (token == null) showLogin()
else start()
