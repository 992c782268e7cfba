/*
 * kcopyd dashboard. Its only data source is the control API (CONTROL-API.md):
 * - in the daemon (data-mode="daemon"), /api/v1/... with "Authorization: Bearer TOKEN", the token read
 *   once from the address's fragment (#token=..., never sent to the server), kept in this tab's
 *   sessionStorage and removed from the address bar;
 * - in the Felix Web Console (data-mode="console"), the plugin's api.json?path=/... behind the console's
 *   own authentication, with the header X-Kcopyd-Api: 1 (which no cross-site request can send).
 * It polls every POLL_MS milliseconds and redraws; everything is built with DOM calls (no HTML from data).
 * Memory is bounded: HISTORY_SECONDS of throughput samples for at most MAX_CLIENTS clients.
 */
(function () {
  'use strict';

  var POLL_MS = 1000;
  var HISTORY_SECONDS = 300;
  var MAX_CLIENTS = 64;
  var COW_WARN = 0.8;
  var COW_FULL = 0.95;
  var TOKEN_KEY = 'kcopyd.dashboard.token';

  var root = document.getElementById('kcopyd');
  if (!root) {
    return;
  }
  var mode = root.getAttribute('data-mode');
  var apiBase = root.getAttribute('data-api');
  var token = null;
  var history = {};   // client name -> [{t: ms, bytes: read+written}]
  var busy = false;

  if (mode === 'daemon') {
    var m = /(?:^#|&)token=([0-9a-fA-F]{64})(?:&|$)/.exec(window.location.hash);
    if (m) {
      window.sessionStorage.setItem(TOKEN_KEY, m[1]);
      window.history.replaceState(null, '', window.location.pathname + window.location.search);
    }
    token = window.sessionStorage.getItem(TOKEN_KEY);
  }

  // ---------- DOM helpers ----------
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) {
          return;
        }
        if (k === 'text') {
          el.textContent = String(v);
        } else if (k === 'onclick') {
          el.addEventListener('click', v);
        } else {
          el.setAttribute(k, v === true ? '' : String(v));
        }
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      append(el, arguments[i]);
    }
    return el;
  }
  function append(el, child) {
    if (child === null || child === undefined || child === false) {
      return;
    }
    if (Array.isArray(child)) {
      child.forEach(function (c) { append(el, c); });
    } else if (typeof child === 'object') {
      el.appendChild(child);
    } else {
      el.appendChild(document.createTextNode(String(child)));
    }
  }
  function svg(tag, attrs) {
    var el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, String(attrs[k])); });
    return el;
  }
  function body(sectionId) {
    return document.querySelector('#' + sectionId + ' .kc-body');
  }
  function fill(sectionId, content) {
    var b = body(sectionId);
    b.replaceChildren();
    append(b, content);
  }
  function table(headers, rows, emptyText) {
    if (!rows.length) {
      return h('p', {'class': 'kc-empty', text: emptyText});
    }
    return h('table', null,
      h('thead', null, h('tr', null, headers.map(function (x) {
        return h('th', {'class': x.num ? 'kc-num' : null, text: x.label || x});
      }))),
      h('tbody', null, rows));
  }
  function stateCell(state, reason) {
    return h('td', null, h('span', {'class': 'kc-state kc-state-' + state, text: state}),
      reason ? h('div', {'class': 'kc-reason', text: reason}) : null);
  }
  function bar(fraction, label, cls, testId) {
    var f = Math.max(0, Math.min(1, isFinite(fraction) ? fraction : 0));
    var inner = h('span');
    inner.style.width = (f * 100).toFixed(1) + '%';
    return h('span', null,
      h('span', {'class': 'kc-bar' + (cls ? ' ' + cls : ''), role: 'progressbar', 'aria-valuemin': 0,
        'aria-valuemax': 100, 'aria-valuenow': (f * 100).toFixed(1), 'data-fraction': f.toFixed(6),
        'data-test': testId}, inner),
      h('span', {'class': 'kc-bar-text', text: label}));
  }

  // ---------- formatting ----------
  function bytes(n) {
    if (n === null || n === undefined) {
      return '–';
    }
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    var i = 0;
    var v = Number(n);
    while (Math.abs(v) >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return (i === 0 ? v.toFixed(0) : v.toFixed(1)) + ' ' + units[i];
  }
  function rate(n) {
    return n === null || n === undefined ? '–' : bytes(n) + '/s';
  }
  function seconds(s) {
    if (s === null || s === undefined || !isFinite(s)) {
      return '–';
    }
    s = Math.round(s);
    if (s < 60) {
      return s + ' s';
    }
    if (s < 3600) {
      return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    }
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }
  function percent(f) {
    return (100 * f).toFixed(1) + ' %';
  }

  // ---------- the API ----------
  function call(method, path, payload) {
    var url;
    var headers = {'Accept': 'application/json'};
    if (mode === 'daemon') {
      url = apiBase + path;
      if (token) {
        headers.Authorization = 'Bearer ' + token;
      }
    } else {
      url = apiBase + '?path=' + encodeURIComponent(path);
      headers['X-Kcopyd-Api'] = '1';
    }
    var init = {method: method, headers: headers, credentials: mode === 'daemon' ? 'omit' : 'same-origin',
      cache: 'no-store'};
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json; charset=utf-8';
      init.body = JSON.stringify(payload);
    } else if (method !== 'GET') {
      headers['Content-Type'] = 'application/json; charset=utf-8';
      init.body = '';
    }
    return window.fetch(url, init).then(function (r) {
      return r.text().then(function (text) {
        var json = null;
        try {
          json = text ? JSON.parse(text) : null;
        } catch (e) {
          json = null;
        }
        if (!r.ok) {
          var msg = json && json.error ? json.error.message + ' (' + json.error.code + ')'
            : method + ' ' + path + ': HTTP ' + r.status;
          var err = new Error(msg);
          err.status = r.status;
          throw err;
        }
        return json;
      });
    });
  }

  function notice(text, ok) {
    var n = document.getElementById('kc-notice');
    if (!text) {
      n.hidden = true;
      n.textContent = '';
      return;
    }
    n.hidden = false;
    n.className = 'kc-notice' + (ok ? ' kc-ok' : '');
    n.textContent = text;
  }

  /** Runs a change, says what came of it, and redraws at once. */
  function act(what, promise) {
    return promise.then(function () {
      notice(what + ': done', true);
      return poll();
    }, function (e) {
      notice(what + ' refused: ' + e.message, false);
    });
  }

  // ---------- views ----------
  function renderDaemon(st) {
    document.getElementById('kc-daemon').textContent = 'version ' + st.version + ', pid ' + st.pid
      + ', started ' + st.startedAt + (st.stateDirectory ? ', state ' + st.stateDirectory : '');
  }

  function renderEngine(st, config) {
    if (!st.engine) {
      fill('kc-engine', h('p', {'class': 'kc-reason', text: 'No engine runs (kcopyd.impl is not active).'}));
      return;
    }
    var conf = config && config.configuration ? config.configuration : st.engine.configuration;
    var refused = config ? config.refused : st.engine.refused;
    var budget = conf.pageBudget;
    var reserved = 0;
    var inUse = 0;
    (st.clients || []).forEach(function (c) {
      reserved += c.pages;
      inUse += c.pagesInUse;
    });
    var keys = Object.keys(conf).sort();
    var parts = [
      h('dl', {'class': 'kc-dl'}, keys.map(function (k) {
        return [h('dt', {text: k}), h('dd', {'data-setting': k, text: String(conf[k])})];
      })),
      budget ? h('p', null, 'Page budget: reserved by clients ',
        bar(reserved / budget, reserved + ' of ' + budget + ' pages (' + bytes(reserved * 4096) + ')',
          reserved / budget >= COW_FULL ? 'kc-full' : reserved / budget >= COW_WARN ? 'kc-warn' : null,
          'page-budget'),
        '  in use ', bar(inUse / budget, inUse + ' pages (' + bytes(inUse * 4096) + ')', null, 'pages-in-use')) : null,
      refused ? h('p', {'class': 'kc-reason', 'data-test': 'engine-refused',
        text: 'The latest configuration was refused: ' + refused.reason + ' — the values above are the last valid ones.'})
        : h('p', {'class': 'kc-muted', text: 'The latest configuration was applied.'})
    ];
    fill('kc-engine', parts);
  }

  function sample(st, now) {
    var seen = {};
    (st.clients || []).forEach(function (c) {
      if (!history[c.name] && Object.keys(history).length >= MAX_CLIENTS) {
        return;
      }
      seen[c.name] = true;
      var list = history[c.name] || (history[c.name] = []);
      list.push({t: now, bytes: c.bytesRead + c.bytesWritten});
      while (list.length && list[0].t < now - HISTORY_SECONDS * 1000) {
        list.shift();
      }
    });
    Object.keys(history).forEach(function (name) {
      if (!seen[name]) {
        delete history[name];
      }
    });
  }

  /** Rates (bytes/s) between successive samples: [{t, rate}]. */
  function rates(list) {
    var out = [];
    for (var i = 1; i < list.length; i++) {
      var dt = (list[i].t - list[i - 1].t) / 1000;
      if (dt > 0) {
        out.push({t: list[i].t, rate: Math.max(0, (list[i].bytes - list[i - 1].bytes) / dt)});
      }
    }
    return out;
  }

  function chart(list, now) {
    var w = 240;
    var hgt = 44;
    var r = rates(list);
    var max = 0;
    r.forEach(function (p) { max = Math.max(max, p.rate); });
    var s = svg('svg', {'class': 'kc-chart', width: w, height: hgt, viewBox: '0 0 ' + w + ' ' + hgt,
      role: 'img', 'aria-label': 'throughput over the last ' + (HISTORY_SECONDS / 60) + ' minutes'});
    s.appendChild(svg('line', {'class': 'kc-axis', x1: 0, y1: hgt - 1, x2: w, y2: hgt - 1}));
    if (r.length > 1 && max > 0) {
      var points = r.map(function (p) {
        var x = w - (now - p.t) / (HISTORY_SECONDS * 1000) * w;
        var y = hgt - 2 - (p.rate / max) * (hgt - 14);
        return x.toFixed(1) + ',' + y.toFixed(1);
      }).join(' ');
      s.appendChild(svg('polyline', {points: points}));
    }
    var t = svg('text', {x: 2, y: 10});
    t.textContent = 'max ' + rate(max);
    s.appendChild(t);
    return s;
  }

  function renderClients(st, now) {
    var rows = (st.clients || []).map(function (c) {
      var list = history[c.name] || [];
      var r = rates(list);
      var current = r.length ? r[r.length - 1].rate : null;
      return h('tr', {'data-client': c.name},
        h('td', {text: c.name}),
        h('td', {'class': 'kc-num', text: c.pages}),
        h('td', {'class': 'kc-num', text: c.pagesInUse}),
        h('td', {'class': 'kc-num', text: c.jobsInFlight}),
        h('td', {'class': 'kc-num', text: c.jobsWaiting}),
        h('td', {'class': 'kc-num', text: c.jobsCompleted}),
        h('td', {'class': 'kc-num', text: c.jobsFailed}),
        h('td', {'class': 'kc-num', text: bytes(c.bytesRead) + ' / ' + bytes(c.bytesWritten)}),
        h('td', {'class': 'kc-num', text: rate(current)}),
        h('td', null, chart(list, now)));
    });
    fill('kc-clients', st.clients === null ? h('p', {'class': 'kc-empty', text: 'No engine runs.'})
      : table(['Client', {label: 'Pages', num: true}, {label: 'In use', num: true}, {label: 'In flight', num: true},
        {label: 'Waiting', num: true}, {label: 'Completed', num: true}, {label: 'Failed', num: true},
        {label: 'Read / written', num: true}, {label: 'Now', num: true}, 'Last ' + (HISTORY_SECONDS / 60) + ' minutes'],
      rows, 'No clients.'));
  }

  function renderJobs(jobs) {
    var rows = jobs.map(function (j) {
      var f = j.bytesTotal > 0 ? j.bytesDone / j.bytesTotal : (j.state === 'completed' ? 1 : 0);
      var cancellable = (j.kind === 'copy' || j.kind === 'zero') && j.state === 'running';
      var outcome = null;
      if (j.result) {
        outcome = h('ul', {'class': 'kc-result'}, (j.result.readError ? [h('li', {'class': 'kc-reason',
          text: 'read error: ' + j.result.readError})] : []).concat(j.result.destinations.map(function (d) {
          return h('li', {'data-destination': d.device, 'data-complete': String(d.complete),
            text: d.device + ': ' + (d.complete ? 'complete' : 'incomplete') + (d.error ? ' — ' + d.error : '')});
        })));
      }
      return h('tr', {'data-job': j.id, 'data-state': j.state},
        h('td', {text: j.id}),
        h('td', {text: j.kind}),
        h('td', null, j.description, outcome, j.error ? h('div', {'class': 'kc-reason', text: j.error}) : null),
        stateCell(j.state, null),
        h('td', null, bar(f, percent(f) + ' of ' + bytes(j.bytesTotal), null, 'job-progress')),
        h('td', {'class': 'kc-num', text: rate(j.bytesPerSecond)}),
        h('td', {'class': 'kc-num', text: seconds(j.secondsLeft)}),
        h('td', null, cancellable ? h('button', {type: 'button', 'data-action': 'cancel', onclick: function () {
          if (window.confirm('Cancel job ' + j.id + ' (' + j.description + ')? Its destinations stay incomplete.')) {
            act('Cancel job ' + j.id, call('POST', '/jobs/' + encodeURIComponent(j.id) + '/cancel'));
          }
        }, text: 'Cancel'}) : null));
    });
    fill('kc-jobs', table(['Id', 'Kind', 'What', 'State', 'Progress', {label: 'Rate', num: true},
      {label: 'Time left', num: true}, ''], rows, 'No jobs running or ended in the last 10 minutes.'));
  }

  function renderSnapshots(snapshots) {
    var rows = snapshots.map(function (s) {
      var f = s.chunksCapacity > 0 ? s.chunksUsed / s.chunksCapacity : 0;
      var cls = f >= COW_FULL ? 'kc-full' : f >= COW_WARN ? 'kc-warn' : null;
      var label = s.chunksUsed + ' of ' + s.chunksCapacity + ' chunks (' + percent(f) + ')'
        + (f >= COW_WARN ? ' — nearly full: when full the snapshot becomes invalid' : '');
      return h('tr', {'data-snapshot': s.name, 'data-state': s.state},
        h('td', {text: s.name}),
        h('td', {text: s.origin}),
        h('td', {text: s.cowStore}),
        h('td', null, bar(f, label, cls, 'cow-use')),
        stateCell(s.state, s.invalidReason),
        h('td', null,
          h('button', {type: 'button', 'data-action': 'merge', disabled: s.state !== 'active', onclick: function () {
            if (window.confirm('Merge snapshot ' + s.name + ' into ' + s.origin + '? The origin is rolled back to the '
              + 'snapshot and the snapshot is removed when the merge ends.')) {
              act('Merge of ' + s.name, call('POST', '/snapshots/' + encodeURIComponent(s.name) + '/merge'));
            }
          }, text: 'Merge'}), ' ',
          h('button', {type: 'button', 'data-action': 'remove', onclick: function () {
            if (window.confirm('Remove snapshot ' + s.name + '? Its COW store file is kept.')) {
              act('Removal of ' + s.name, call('DELETE', '/snapshots/' + encodeURIComponent(s.name)));
            }
          }, text: 'Remove'})));
    });
    fill('kc-snapshots', table(['Name', 'Origin', 'COW store', 'COW use', 'State', ''], rows, 'No snapshots.'));
  }

  var replaceForm = null;
  function replaceLegForm() {
    if (replaceForm) {
      return replaceForm;
    }
    var input = h('input', {name: 'with', required: true, placeholder: '/srv/c.img'});
    var what = h('span', {'class': 'kc-muted'});
    replaceForm = h('form', {'class': 'kc-form', id: 'kc-replace-form', hidden: true, autocomplete: 'off'},
      what, h('label', null, 'New leg', input), h('button', {type: 'submit', text: 'Replace leg'}),
      h('button', {type: 'button', text: 'Close', onclick: function () { replaceForm.hidden = true; }}));
    replaceForm.addEventListener('submit', function (e) {
      e.preventDefault();
      var mirror = replaceForm.getAttribute('data-mirror');
      var leg = Number(replaceForm.getAttribute('data-leg'));
      act('Replace leg ' + leg + ' of ' + mirror, call('POST', '/mirrors/' + encodeURIComponent(mirror) + '/replace-leg',
        {leg: leg, 'with': input.value})).then(function () { replaceForm.hidden = true; });
    });
    replaceForm.open = function (mirror, leg, device) {
      replaceForm.setAttribute('data-mirror', mirror);
      replaceForm.setAttribute('data-leg', String(leg));
      what.textContent = 'Mirror ' + mirror + ', leg ' + leg + ' (' + device + '):';
      replaceForm.hidden = false;
      input.focus();
    };
    document.getElementById('kc-mirrors').insertBefore(replaceForm, body('kc-mirrors'));
    return replaceForm;
  }

  function renderMirrors(mirrors) {
    replaceLegForm();
    var rows = mirrors.map(function (m) {
      var todo = m.regionsToResync + m.regionsResynced;
      var f = todo > 0 ? m.regionsResynced / todo : 1;
      var legs = h('ul', {'class': 'kc-legs'}, m.legs.map(function (l) {
        var resync = l.state === 'resyncing' ? ' ' + percent(f) : '';
        // A leg not failed is resynced fully from another leg in sync, on request (its data doubted).
        var source = m.state === 'active' && l.state !== 'failed' && m.legs.some(function (o) {
          return o.index !== l.index && o.state === 'in-sync';
        });
        return h('li', {'data-leg': l.index, 'data-state': l.state},
          'leg ' + l.index + ': ' + l.device + ' ',
          h('span', {'class': 'kc-state kc-state-' + l.state, text: l.state + resync}),
          l.failure ? h('div', {'class': 'kc-reason', 'data-test': 'leg-failure', text: l.failure}) : null,
          l.state === 'failed' ? h('button', {type: 'button', 'data-action': 'replace-leg',
            onclick: function () { replaceForm.open(m.name, l.index, l.device); }, text: 'Replace…'}) : null,
          source ? h('button', {type: 'button', 'data-action': 'resync-leg', onclick: function () {
            if (window.confirm('Resync leg ' + l.index + ' of ' + m.name + ' (' + l.device + ') fully from a leg in '
                + 'sync? Every region of it is copied again; the mirror closes and reopens for it.')) {
              act('Resync leg ' + l.index + ' of ' + m.name, call('POST', '/mirrors/' + encodeURIComponent(m.name)
                + '/replace-leg', {leg: l.index, 'with': l.device}));
            }
          }, text: 'Resync…'}) : null);
      }));
      return h('tr', {'data-mirror': m.name, 'data-state': m.state},
        h('td', {text: m.name}),
        h('td', null, legs),
        stateCell(m.state, m.reason),
        h('td', {'class': 'kc-num', text: m.regions}),
        h('td', {'class': 'kc-num', text: m.regionsToResync}),
        h('td', null, bar(f, m.regionsResynced + ' resynced (' + percent(f) + ')', null, 'resync')),
        h('td', {'class': 'kc-num', text: rate(m.resyncBytesPerSecond)}));
    });
    fill('kc-mirrors', table(['Name', 'Legs', 'State', {label: 'Regions', num: true}, {label: 'To resync', num: true},
      'Resync', {label: 'Rate', num: true}], rows, 'No mirrors.'));
  }

  function renderExports(exports) {
    var rows = exports.map(function (x) {
      return h('tr', {'data-export': x.name, 'data-state': x.state},
        h('td', {text: x.name}),
        h('td', {text: x.device}),
        h('td', {text: x.listen || x.socket || '–'}),
        h('td', {text: x.uri || '–'}),
        h('td', {text: (x.readOnly ? 'read-only' : 'read-write') + (x.tls ? ', TLS' : '')}),
        h('td', {'class': 'kc-num', text: x.connections === null ? '–' : x.connections}),
        stateCell(x.state, x.reason));
    });
    fill('kc-exports', table(['Name', 'Device', 'Address', 'URI', 'Access', {label: 'Connections', num: true}, 'State'],
      rows, 'No NBD exports.'));
  }

  // ---------- polling ----------
  function poll() {
    if (busy) {
      return Promise.resolve();
    }
    if (mode === 'daemon' && !token) {
      notice('No token: open the address that "kcopyd status" prints (it ends with #token=...).', false);
      return Promise.resolve();
    }
    busy = true;
    return Promise.all([call('GET', '/status'), call('GET', '/config'), call('GET', '/jobs'),
      call('GET', '/snapshots'), call('GET', '/mirrors'), call('GET', '/exports')]).then(function (r) {
      var now = Date.now();
      sample(r[0], now);
      renderDaemon(r[0]);
      renderEngine(r[0], r[1]);
      renderClients(r[0], now);
      renderJobs(r[2].jobs);
      renderSnapshots(r[3].snapshots);
      renderMirrors(r[4].mirrors);
      renderExports(r[5].exports);
      document.getElementById('kc-updated').textContent = 'updated ' + new Date(now).toLocaleTimeString();
      root.setAttribute('data-updated', String(now));
      var n = document.getElementById('kc-notice');
      if (n.getAttribute('data-stale') === 'true') {
        notice(null);
        n.removeAttribute('data-stale');
      }
    }, function (e) {
      var n = document.getElementById('kc-notice');
      if (e.status === 401 && mode === 'daemon') {
        window.sessionStorage.removeItem(TOKEN_KEY);
        token = null;
        notice('The daemon refused the token (it makes a new one at every start): open the address that '
          + '"kcopyd status" prints.', false);
      } else {
        notice('Cannot reach the kcopyd control API: ' + e.message, false);
        n.setAttribute('data-stale', 'true');
      }
    }).then(function () {
      busy = false;
    });
  }

  document.getElementById('kc-snapshot-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var form = e.target;
    function field(n) {
      return form.elements.namedItem(n).value;
    }
    var req = {name: field('name'), origin: field('origin'), cowStore: field('cowStore')};
    if (field('chunkSectors')) {
      req.chunkSectors = Number(field('chunkSectors'));
    }
    if (field('cowStoreSizeMiB')) {
      req.cowStoreSizeMiB = Number(field('cowStoreSizeMiB'));
    }
    act('Snapshot ' + req.name, call('POST', '/snapshots', req)).then(function () {
      if (!document.getElementById('kc-notice').classList.contains('kc-ok')) {
        return;
      }
      form.reset();
    });
  });

  poll();
  window.setInterval(poll, POLL_MS);
}());
