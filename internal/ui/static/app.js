// sluice console: keeps pages live and sends forms in place. Every page works
// without this script; it only saves reloads.
(function () {
  'use strict';

  var announcer = document.getElementById('announcer');
  var notice = document.getElementById('notice');

  function announce(text) {
    if (!announcer || !text) return;
    announcer.textContent = '';
    // A fresh node each time, so that the same words are read again.
    window.setTimeout(function () { announcer.textContent = text; }, 30);
  }

  function showNotice(text, ok) {
    if (!notice) return;
    notice.textContent = text;
    notice.classList.toggle('ok', !!ok);
    notice.setAttribute('role', ok ? 'status' : 'alert');
    notice.hidden = !text;
  }

  // ---- live regions ----

  // What the reader was doing in a region: typed text, open panels, focus.
  function snapshot(root) {
    var snap = { values: {}, open: {}, focus: null, sel: null };
    root.querySelectorAll('input[id], textarea[id], select[id]').forEach(function (el) {
      if (el.type === 'hidden') return;
      if (el.type === 'radio' || el.type === 'checkbox') {
        snap.values[el.id] = el.checked;
      } else if (el.value !== el.defaultValue) {
        snap.values[el.id] = el.value;
      }
    });
    root.querySelectorAll('details[id]').forEach(function (el) { snap.open[el.id] = el.open; });
    var a = document.activeElement;
    if (a && a.id && root.contains(a)) {
      snap.focus = a.id;
      if (typeof a.selectionStart === 'number') snap.sel = [a.selectionStart, a.selectionEnd];
    }
    return snap;
  }

  function restore(root, snap) {
    Object.keys(snap.values).forEach(function (id) {
      var el = document.getElementById(id);
      if (!el || !root.contains(el)) return;
      if (el.type === 'radio' || el.type === 'checkbox') el.checked = snap.values[id];
      else el.value = snap.values[id];
    });
    Object.keys(snap.open).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && root.contains(el)) el.open = snap.open[id];
    });
    if (snap.focus) {
      var f = document.getElementById(snap.focus);
      if (f) {
        f.focus({ preventScroll: true });
        if (snap.sel && typeof f.setSelectionRange === 'function') {
          try { f.setSelectionRange(snap.sel[0], snap.sel[1]); } catch (e) { /* not a text field */ }
        }
      }
    }
  }

  var regions = Array.prototype.slice.call(document.querySelectorAll('[data-live]'));
  var state = new Map(); // region → {busy, again}

  function refresh(region) {
    var st = state.get(region) || { busy: false, again: false };
    state.set(region, st);
    if (st.busy) { st.again = true; return; }
    st.busy = true;
    region.setAttribute('aria-busy', 'true');
    fetch(region.getAttribute('data-live'), { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (r) {
        if (r.status === 401) { signIn(); throw new Error('signed out'); }
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.text();
      })
      .then(function (html) {
        var before = region.querySelector('[data-announce]');
        before = before ? before.textContent.trim() : '';
        var snap = snapshot(region);
        region.innerHTML = html;
        restore(region, snap);
        var after = region.querySelector('[data-announce]');
        after = after ? after.textContent.trim().replace(/\s+/g, ' ') : '';
        if (after && after !== before.replace(/\s+/g, ' ')) announce(after);
        document.dispatchEvent(new CustomEvent('sluice:updated'));
      })
      .catch(function () { /* the next change tries again */ })
      .finally(function () {
        st.busy = false;
        region.removeAttribute('aria-busy');
        if (st.again) { st.again = false; refresh(region); }
      });
  }

  function refreshAll() { regions.forEach(refresh); }

  function signIn() {
    window.location.href = '/ui/signin?next=' + encodeURIComponent(location.pathname + location.search);
  }

  var liveState = document.getElementById('live-state');
  function setLive(s, word) {
    if (!liveState) return;
    liveState.setAttribute('data-state', s);
    liveState.querySelector('.word').textContent = word;
  }

  var stream = document.body.getAttribute('data-live-stream');
  if (stream && window.EventSource) {
    var es = new EventSource(stream);
    es.addEventListener('open', function () { setLive('live', 'Live: updates as they happen'); });
    es.addEventListener('error', function () { setLive('error', 'Reconnecting…'); });
    es.addEventListener('change', function () { refreshAll(); });
    es.addEventListener('signedout', function () { es.close(); signIn(); });
    window.addEventListener('pagehide', function () { es.close(); });
  } else if (liveState) {
    setLive('off', 'Not live: reload to update');
  }

  // ---- forms sent in place ----

  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches('form[data-async]') || !window.fetch) return;
    ev.preventDefault();
    var data;
    try { data = new FormData(form, ev.submitter || undefined); } catch (e) { data = new FormData(form); }
    var buttons = form.querySelectorAll('button');
    buttons.forEach(function (b) { b.disabled = true; });
    showNotice('', true);
    fetch(form.getAttribute('action'), {
      method: 'POST', credentials: 'same-origin', body: new URLSearchParams(data),
      headers: { 'Accept': 'application/json' }
    }).then(function (r) {
      if (r.status === 401) { signIn(); throw new Error('signed out'); }
      return r.json().catch(function () { return { message: 'HTTP ' + r.status }; }).then(function (j) {
        showNotice(j.message || (r.ok ? 'Done.' : 'Refused.'), r.ok);
        if (r.ok) {
          var d = form.closest('details');
          if (d) d.open = false;
          form.reset();
          refreshAll();
        }
      });
    }).catch(function (e) {
      if (e.message !== 'signed out') showNotice('The server could not be reached: ' + e.message, false);
    }).finally(function () {
      buttons.forEach(function (b) { b.disabled = false; });
    });
  });

  // ---- search as you type ----

  document.querySelectorAll('input[data-filter]').forEach(function (input) {
    function apply() {
      var q = input.value.trim().toLowerCase();
      document.querySelectorAll(input.getAttribute('data-filter')).forEach(function (row) {
        var name = (row.getAttribute('data-name') || '').toLowerCase();
        row.hidden = q !== '' && name !== '' && name.indexOf(q) < 0;
      });
    }
    input.addEventListener('input', apply);
    document.addEventListener('sluice:updated', apply);
  });

  // ---- copy buttons ----

  document.addEventListener('click', function (ev) {
    var b = ev.target.closest && ev.target.closest('button[data-copy]');
    if (!b) return;
    var src = document.querySelector(b.getAttribute('data-copy'));
    if (src && navigator.clipboard) {
      navigator.clipboard.writeText(src.textContent.trim()).then(function () { announce('Copied.'); });
    }
  });

  // ---- an action's log, followed while it runs ----

  var log = document.getElementById('log');
  if (log && log.getAttribute('data-done') !== 'true' && log.getAttribute('data-truncated') !== 'true') {
    follow(log);
  }

  var phaseStart = /^(?:\[[^\]]+\] )?\[Container\] \S+ \S+ Entering phase (\S+)/;
  var phaseEnd = /^(?:\[[^\]]+\] )?\[Container\] \S+ \S+ Phase complete: (\S+) State: (\S+)/;

  function currentPre(box) {
    var pres = box.querySelectorAll('pre');
    var last = pres[pres.length - 1];
    if (!last) {
      last = document.createElement('pre');
      last.className = 'plain';
      box.appendChild(last);
    }
    return last;
  }

  function newPhase(box, name) {
    var d = document.createElement('details');
    d.className = 'phase';
    d.open = true;
    d.setAttribute('data-phase', name);
    var s = document.createElement('summary');
    var n = document.createElement('span');
    n.className = 'phase-name';
    n.textContent = name;
    s.appendChild(n);
    d.appendChild(s);
    var pre = document.createElement('pre');
    d.appendChild(pre);
    box.appendChild(d);
    return pre;
  }

  function phaseStatus(box, name, word) {
    var d = box.querySelector('details.phase:last-of-type');
    if (!d || d.getAttribute('data-phase') !== name || d.querySelector('.status')) return;
    var ok = word === 'SUCCEEDED';
    var st = document.createElement('span');
    st.className = 'status ' + (ok ? 'st-ok' : 'st-bad');
    st.setAttribute('data-status', word);
    var icon = document.createElement('span');
    icon.className = 'icon';
    icon.setAttribute('aria-hidden', 'true');
    icon.textContent = ok ? '✓' : '✗';
    st.appendChild(icon);
    st.appendChild(document.createTextNode(' ' + word));
    d.querySelector('summary').appendChild(document.createTextNode(' '));
    d.querySelector('summary').appendChild(st);
  }

  function appendLog(box, text) {
    var empty = box.querySelector('pre.empty');
    if (empty) empty.remove();
    var atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    var pre = currentPre(box);
    var lines = text.split(/(?<=\n)/);
    var buf = '';
    lines.forEach(function (line) {
      var m = phaseStart.exec(line);
      if (m) {
        var d = box.querySelector('details.phase:last-of-type');
        var cur = d && d.getAttribute('data-phase');
        if (cur !== m[1] || d.querySelector('.status')) {
          pre.appendChild(document.createTextNode(buf));
          buf = '';
          pre = newPhase(box, m[1]);
        }
      }
      buf += line;
      var e = phaseEnd.exec(line);
      if (e) {
        pre.appendChild(document.createTextNode(buf));
        buf = '';
        phaseStatus(box, e[1], e[2]);
      }
    });
    pre.appendChild(document.createTextNode(buf));
    if (atBottom) window.scrollTo(0, document.body.scrollHeight);
  }

  function follow(box) {
    var offset = parseInt(box.getAttribute('data-offset'), 10) || 0;
    var url = box.getAttribute('data-follow');
    function next() {
      fetch(url + '&offset=' + offset, { credentials: 'same-origin' }).then(function (r) {
        if (r.status === 401) { signIn(); return null; }
        if (!r.ok) throw new Error('HTTP ' + r.status);
        var done = r.headers.get('X-Sluice-Log-Done') === 'true';
        var nextOffset = parseInt(r.headers.get('X-Sluice-Log-Next'), 10);
        return r.text().then(function (text) {
          if (text) appendLog(box, text);
          if (!isNaN(nextOffset)) offset = nextOffset;
          box.setAttribute('data-offset', String(offset));
          if (done) {
            box.setAttribute('data-done', 'true');
            // The action ended: its status and test reports are drawn anew.
            window.location.reload();
            return null;
          }
          next();
          return null;
        });
      }).catch(function () { window.setTimeout(next, 2000); });
    }
    next();
  }
})();
