// Autosave for the handbook's strand form. Progressive enhancement: without this script the Save
// button does everything. Text typed is kept in this browser (localStorage) until the server has
// confirmed it, so a closed laptop or a dropped connection loses nothing.
const form = document.querySelector('form[data-autosave]')

if (form) {
  const storeKey = 'aqm-unsaved:' + form.dataset.autosave
  const status = document.getElementById('save-status')
  const version = form.elements.version
  const DEBOUNCE_MS = 2000
  let timer = null
  let inFlight = false
  let stopped = false
  let retryMs = 5000

  const snapshot = () => ({
    version: version.value,
    actions: form.elements.actions.value,
    impact: form.elements.impact.value,
    level: (form.querySelector('input[name="level"]:checked') || { value: '' }).value
  })
  const same = (a, b) => a.actions === b.actions && a.impact === b.impact && a.level === b.level
  const say = (text) => { status.textContent = text }

  const keep = () => {
    try { localStorage.setItem(storeKey, JSON.stringify(snapshot())) } catch (e) { /* storage full or blocked */ }
  }
  const forget = () => {
    try { localStorage.removeItem(storeKey) } catch (e) { /* nothing to do */ }
  }

  const save = async () => {
    if (stopped || inFlight) return
    inFlight = true
    const sent = snapshot()
    say('Saving…')
    try {
      const response = await fetch(form.action, {
        method: 'POST',
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: 'application/json', 'X-CSRF-Token': form.elements.csrf_token.value },
        credentials: 'same-origin'
      })
      const reply = await response.json().catch(() => ({}))
      if (response.ok && reply.status === 'saved') {
        version.value = reply.version
        retryMs = 5000
        if (same(sent, snapshot())) {
          forget()
          say('Saved ' + reply.saved_at)
        } else {
          keep()
          schedule(DEBOUNCE_MS)
        }
      } else if (response.status === 409 || response.status === 422) {
        // The Save button shows what is wrong (a newer version, a pupil-data check) in full.
        stopped = true
        say('Not saved: ' + (reply.message || 'press Save'))
      } else {
        throw new Error('status ' + response.status)
      }
    } catch (e) {
      say('Not saved — retrying. Your text is kept in this browser.')
      schedule(retryMs)
      retryMs = Math.min(retryMs * 2, 60000)
    } finally {
      inFlight = false
    }
  }

  const schedule = (ms) => {
    clearTimeout(timer)
    timer = setTimeout(save, ms)
  }

  // Text left unsaved last time comes back, and is saved (or, if the strand changed meanwhile,
  // saving shows both versions).
  try {
    const stored = JSON.parse(localStorage.getItem(storeKey) || 'null')
    if (stored && !same(stored, snapshot())) {
      form.elements.actions.value = stored.actions
      form.elements.impact.value = stored.impact
      const radio = form.querySelector('input[name="level"][value="' + CSS.escape(stored.level) + '"]')
      if (radio) radio.checked = true
      version.value = stored.version
      say('Restored text you had not saved yet.')
      schedule(500)
    } else if (stored) {
      forget()
    }
  } catch (e) { /* unreadable: ignore */ }

  form.addEventListener('input', () => {
    keep()
    if (!stopped) say('Not saved yet')
    schedule(DEBOUNCE_MS)
  })
  form.addEventListener('submit', () => { clearTimeout(timer); stopped = true })
}
