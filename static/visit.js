// Visit mode's queue. Progressive enhancement: without this script each strand's Save button
// posts its form. With it, every change (a level chosen, a note typed) is written to this
// browser's storage at once and sent to the server in the background; an item leaves the queue
// only when the server has confirmed that exact change. Lost Wi-Fi, a closed tab or a flat
// battery loses nothing: the queue is sent when the page is next open and the network is back.
const status = document.getElementById('queue-status')
const forms = Array.from(document.querySelectorAll('form[data-visit-queue]'))

if (status && forms.length) {
  const storeKey = 'aqm-visit-queue:' + status.dataset.assessment
  const token = forms[0].elements.csrf_token.value
  let timer = null
  let sending = false
  let retryMs = 2000

  const load = () => {
    try { return JSON.parse(localStorage.getItem(storeKey) || '{}') || {} } catch (e) { return {} }
  }
  const store = (queue) => {
    try { localStorage.setItem(storeKey, JSON.stringify(queue)) } catch (e) { /* storage full or blocked */ }
  }
  const formFor = (key) => forms.find((f) => f.dataset.visitQueue === key)
  const read = (form) => ({
    level: (form.querySelector('input[name="level"]:checked') || { value: '' }).value,
    notes: form.elements.notes.value
  })
  const mark = (key, text) => {
    const form = formFor(key)
    const line = form && form.querySelector('[data-status-for]')
    if (line) line.textContent = text
  }

  const summary = () => {
    const items = Object.values(load())
    const failed = items.filter((i) => i.error).length
    const waiting = items.length - failed
    let text
    if (items.length === 0) {
      text = 'All your levels and notes are saved.'
    } else {
      text = waiting + (waiting === 1 ? ' change is' : ' changes are') + ' waiting to be sent. ' +
        'They are kept in this browser and sent as soon as the connection allows.'
      if (!navigator.onLine) text = 'You are offline. ' + text
      if (failed) text += ' ' + failed + ' could not be saved: see the strand.'
    }
    status.textContent = text
    status.dataset.waiting = String(items.length)
  }

  const schedule = (ms) => {
    clearTimeout(timer)
    timer = setTimeout(flush, ms)
  }

  const enqueue = (form) => {
    const queue = load()
    const key = form.dataset.visitQueue
    queue[key] = { url: form.action, ...read(form), stamp: Date.now() }
    store(queue)
    mark(key, 'Waiting to send — kept in this browser')
    summary()
    schedule(800)
  }

  const send = async (key, item) => {
    const body = new URLSearchParams({
      csrf_token: token,
      level: item.level,
      notes: item.notes,
      stamp: String(item.stamp)
    })
    const response = await fetch(item.url, {
      method: 'POST',
      body,
      headers: { Accept: 'application/json', 'X-CSRF-Token': token },
      credentials: 'same-origin'
    })
    const reply = await response.json().catch(() => ({}))
    const queue = load()
    const same = queue[key] && queue[key].stamp === item.stamp
    if (response.ok && (reply.status === 'saved' || reply.status === 'superseded')) {
      if (same) {
        delete queue[key]
        store(queue)
        mark(key, 'Saved')
      }
      return
    }
    if (response.status === 409 || response.status === 422) {
      // Not a network problem: say what is wrong and stop resending this change.
      if (same) {
        queue[key].error = reply.message || 'Not saved'
        store(queue)
      }
      mark(key, 'Not saved: ' + (reply.message || 'press Save to see why'))
      return
    }
    // Signed out, a server error, a captive portal: keep it and try again.
    throw new Error('not confirmed: ' + response.status)
  }

  const flush = async () => {
    if (sending) return
    sending = true
    try {
      for (const [key, item] of Object.entries(load())) {
        if (item.error) continue
        await send(key, item)
      }
      retryMs = 2000
      if (Object.values(load()).some((i) => !i.error)) schedule(500)
    } catch (e) {
      for (const [key, item] of Object.entries(load())) {
        if (!item.error) mark(key, 'Waiting to send — kept in this browser')
      }
      schedule(retryMs)
      retryMs = Math.min(retryMs * 2, 30000)
    } finally {
      sending = false
      summary()
    }
  }

  // Changes left from last time come back into their forms, unless the server has a newer one.
  const queue = load()
  for (const form of forms) {
    const key = form.dataset.visitQueue
    const item = queue[key]
    if (!item) continue
    if (item.stamp <= Number(form.dataset.stamp || 0)) {
      delete queue[key]
      continue
    }
    form.elements.notes.value = item.notes
    const radio = form.querySelector('input[name="level"][value="' + CSS.escape(item.level) + '"]')
    if (radio) radio.checked = true
    mark(key, item.error ? 'Not saved: ' + item.error : 'Waiting to send — kept in this browser')
  }
  store(queue)

  for (const form of forms) {
    form.addEventListener('input', () => enqueue(form))
    form.addEventListener('change', () => enqueue(form))
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      enqueue(form)
      flush()
    })
  }
  window.addEventListener('online', () => { retryMs = 2000; flush() })
  window.addEventListener('offline', summary)
  summary()
  flush()
}
