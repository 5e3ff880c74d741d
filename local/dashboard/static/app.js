// Sluice local dashboard: renders the snapshots the local server pushes on /api/stream
// (server-sent events), falling back to polling /api/snapshot. Plain script, no build step;
// Chart.js comes from /vendor/chart.umd.js.
/* global Chart, EventSource */
(function () {
  'use strict';

  var MAX_POINTS = 120;
  var PALETTE = ['#38bdf8', '#f472b6', '#a3e635', '#fbbf24', '#c084fc', '#34d399', '#fb7185', '#60a5fa'];
  var labels = [];
  var series = { eps: [], lag: [] };
  // metric -> sensorId -> { current: [], rolling: [] } aligned with `labels`
  var sensorSeries = {};
  var selectedMetric = null;
  var state = { snapshots: 0, lastSnapshot: null };

  Chart.defaults.color = '#94a3b8';
  Chart.defaults.borderColor = '#334155';
  Chart.defaults.animation = false;

  function lineChart(id, datasets, yTitle) {
    return new Chart(document.getElementById(id), {
      type: 'line',
      data: { labels: labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        parsing: true,
        elements: { point: { radius: 0 }, line: { borderWidth: 2, tension: 0.25 } },
        interaction: { mode: 'nearest', intersect: false },
        scales: {
          x: { ticks: { maxTicksLimit: 6, autoSkip: true } },
          y: { title: { display: !!yTitle, text: yTitle || '' } },
        },
        plugins: { legend: { display: datasets.length > 1, labels: { boxWidth: 10 } } },
      },
    });
  }

  var charts = {
    eps: lineChart(
      'chart-eps',
      [{ label: 'events/s', data: series.eps, borderColor: PALETTE[0], fill: false }],
      'events/s',
    ),
    lag: lineChart(
      'chart-lag',
      [{ label: 'iterator lag (ms)', data: series.lag, borderColor: PALETTE[3] }],
      'ms',
    ),
    current: lineChart('chart-current', [], null),
    rolling: lineChart('chart-rolling', [], null),
    quarantine: new Chart(document.getElementById('chart-quarantine'), {
      type: 'bar',
      data: { labels: [], datasets: [{ label: 'records', data: [], backgroundColor: PALETTE[6] }] },
      options: {
        indexAxis: 'y',
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    }),
  };

  function fmt(n) {
    if (n === null || n === undefined) return '–';
    return Math.round(n).toLocaleString('en-US');
  }

  function fmtValue(n) {
    return n === null || n === undefined ? '–' : Number(n).toFixed(2);
  }

  function timeLabel(iso) {
    return iso.slice(11, 19);
  }

  function setText(id, text) {
    document.getElementById(id).textContent = text;
  }

  function push(array, value) {
    array.push(value);
    while (array.length > MAX_POINTS) array.shift();
  }

  function ensureMetricOptions(metrics) {
    var select = document.getElementById('metric-select');
    metrics.forEach(function (metric) {
      if (
        !Array.prototype.some.call(select.options, function (o) {
          return o.value === metric;
        })
      ) {
        var option = document.createElement('option');
        option.value = metric;
        option.textContent = metric;
        select.appendChild(option);
      }
    });
    if (selectedMetric === null && metrics.length > 0) {
      selectedMetric = metrics.indexOf('temperature') >= 0 ? 'temperature' : metrics[0];
      select.value = selectedMetric;
    }
  }

  function sensorDatasets(kind) {
    var bySensor = sensorSeries[selectedMetric] || {};
    return Object.keys(bySensor)
      .sort()
      .map(function (sensorId, i) {
        return {
          label: sensorId,
          data: bySensor[sensorId][kind],
          borderColor: PALETTE[i % PALETTE.length],
          spanGaps: true,
        };
      });
  }

  function refreshSensorCharts() {
    charts.current.data.datasets = sensorDatasets('current');
    charts.rolling.data.datasets = sensorDatasets('rolling');
    charts.current.options.plugins.legend.display = true;
    charts.rolling.options.plugins.legend.display = true;
    charts.current.update();
    charts.rolling.update();
  }

  function recordSensors(sensors) {
    var seen = {};
    sensors.forEach(function (s) {
      var bySensor = (sensorSeries[s.metric] = sensorSeries[s.metric] || {});
      if (!bySensor[s.sensorId]) {
        // Pad a new sensor's history so it lines up with the shared labels.
        bySensor[s.sensorId] = {
          current: labels.slice(0, -1).map(function () {
            return null;
          }),
          rolling: labels.slice(0, -1).map(function () {
            return null;
          }),
        };
      }
      push(bySensor[s.sensorId].current, s.current);
      push(bySensor[s.sensorId].rolling, s.rollingAvg);
      seen[s.metric + '|' + s.sensorId] = true;
    });
    Object.keys(sensorSeries).forEach(function (metric) {
      Object.keys(sensorSeries[metric]).forEach(function (sensorId) {
        if (!seen[metric + '|' + sensorId]) {
          push(sensorSeries[metric][sensorId].current, null);
          push(sensorSeries[metric][sensorId].rolling, null);
        }
      });
    });
  }

  function renderAlerts(alerts) {
    var body = document.getElementById('alerts-body');
    body.innerHTML = '';
    alerts.forEach(function (a) {
      var row = document.createElement('tr');
      row.className = 'alert-row';
      [
        a.eventTime.slice(11, 19),
        a.severity,
        a.ruleId,
        a.sensorId,
        fmtValue(a.value) + ' ' + a.op + ' ' + a.threshold,
      ].forEach(function (text, i) {
        var cell = document.createElement('td');
        cell.textContent = text;
        if (i === 1) cell.className = 'sev-' + a.severity;
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
    document.getElementById('alerts-empty').style.display = alerts.length ? 'none' : 'block';
  }

  function renderQuarantine(byReason) {
    var reasons = Object.keys(byReason).sort(function (a, b) {
      return byReason[b] - byReason[a];
    });
    charts.quarantine.data.labels = reasons;
    charts.quarantine.data.datasets[0].data = reasons.map(function (r) {
      return byReason[r];
    });
    charts.quarantine.update();
  }

  // Hours the reconciliation counted but did not compare: batch-only hours whose events were all
  // late (skipped by the speed layer by design), and recent hours still filling in on one side.
  function notCompared(drift) {
    var parts = [];
    if (drift.itemsLateOnly > 0) parts.push(fmt(drift.itemsLateOnly) + ' late-only');
    if (drift.itemsUnsettled > 0) parts.push(fmt(drift.itemsUnsettled) + ' still filling in');
    return parts.length ? ' · not compared: ' + parts.join(', ') : '';
  }

  function renderDrift(drift) {
    var meta = document.getElementById('drift-meta');
    var table = document.getElementById('drift-table');
    var body = document.getElementById('drift-body');
    body.innerHTML = '';
    if (!drift) {
      meta.textContent = 'No batch run yet.';
      meta.className = 'drift-meta';
      table.style.display = 'none';
      return;
    }
    var agreement =
      drift.itemsDiffering > 0
        ? fmt(drift.itemsDiffering) +
          ' of ' +
          fmt(drift.itemsCompared) +
          ' hourly items differ · max relative difference ' +
          Number(drift.maxRelativeDifference).toPrecision(3)
        : drift.itemsCompared > 0
          ? 'none · ' + fmt(drift.itemsCompared) + ' hourly items agree'
          : 'none · no settled hour to compare yet';
    meta.textContent =
      drift.status === 'compared'
        ? 'drift: ' +
          agreement +
          ' · window ' +
          drift.window +
          ' · ' +
          drift.days.join(', ') +
          notCompared(drift)
        : drift.message;
    meta.className = 'drift-meta' + (drift.itemsDiffering > 0 ? ' differs' : '');
    var shown = drift.differences.slice(0, 8);
    table.style.display = shown.length ? '' : 'none';
    shown.forEach(function (d) {
      var tr = document.createElement('tr');
      var side = function (v) {
        return v ? fmtValue(v[d.field]) : '–';
      };
      [
        d.sensorId,
        d.metric,
        d.hourStart.replace('T', ' ').slice(0, 16),
        d.kind,
        d.field,
        side(d.speed),
        side(d.batch),
        Number(d.relativeDifference).toPrecision(3),
      ].forEach(function (v) {
        var td = document.createElement('td');
        td.textContent = v;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function renderBatch(batch) {
    var meta = 'state: ' + batch.state;
    if (batch.lastRunAt)
      meta +=
        ' · last run ' +
        batch.lastRunAt.replace('T', ' ').slice(0, 19) +
        ' UTC for ' +
        batch.lastRunDays.join(', ');
    if (batch.nextRunAt) meta += ' · next run ' + batch.nextRunAt.replace('T', ' ').slice(0, 19) + ' UTC';
    if (batch.error) meta += ' · error: ' + batch.error;
    setText('batch-meta', meta);
    var container = document.getElementById('batch-tables');
    container.innerHTML = '';
    batch.tables.forEach(function (t) {
      var card = document.createElement('div');
      card.className = 'table-card';
      card.dataset.table = t.name;
      var title = document.createElement('h3');
      title.textContent = t.name + ' ';
      var rows = document.createElement('span');
      rows.className = 'rows';
      rows.textContent = '(' + fmt(t.rows) + ' rows)';
      title.appendChild(rows);
      card.appendChild(title);
      var wrap = document.createElement('div');
      wrap.className = 'scroll';
      var table = document.createElement('table');
      var head = document.createElement('tr');
      t.columns.forEach(function (c) {
        var th = document.createElement('th');
        th.textContent = c;
        head.appendChild(th);
      });
      table.appendChild(head);
      t.preview.forEach(function (r) {
        var tr = document.createElement('tr');
        r.forEach(function (v) {
          var td = document.createElement('td');
          td.textContent = v;
          tr.appendChild(td);
        });
        table.appendChild(tr);
      });
      wrap.appendChild(table);
      card.appendChild(wrap);
      container.appendChild(card);
    });
  }

  function render(snapshot) {
    state.snapshots += 1;
    state.lastSnapshot = snapshot;
    var t = snapshot.totals;
    setText('kpi-eps', fmt(snapshot.eventsPerSecond));
    setText('kpi-ingested', fmt(t.ingested));
    setText('kpi-valid', fmt(t.valid));
    setText('kpi-invalid', fmt(t.invalid));
    setText('kpi-late', fmt(t.late));
    setText('kpi-raw', fmt(t.rawLanded));
    setText('kpi-alerts', fmt(t.alerts));
    setText('kpi-lag', fmt(snapshot.iteratorLagMs) + ' ms');

    push(labels, timeLabel(snapshot.time));
    push(series.eps, snapshot.eventsPerSecond);
    push(series.lag, snapshot.iteratorLagMs);
    var metrics = [];
    snapshot.sensors.forEach(function (s) {
      if (metrics.indexOf(s.metric) < 0) metrics.push(s.metric);
    });
    ensureMetricOptions(metrics.sort());
    recordSensors(snapshot.sensors);
    if (snapshot.sensors.length)
      setText('rolling-hint', snapshot.sensors[0].rollingWindow + ' window average, from DynamoDB');
    charts.eps.update();
    charts.lag.update();
    refreshSensorCharts();
    renderAlerts(snapshot.recentAlerts);
    renderQuarantine(snapshot.quarantineByReason);
    renderBatch(snapshot.batch);
    renderDrift(snapshot.drift);
  }

  function setStatus(live, text) {
    document.getElementById('status-dot').className = live ? 'live' : 'down';
    setText('status-text', text);
  }

  document.getElementById('metric-select').addEventListener('change', function (e) {
    selectedMetric = e.target.value;
    refreshSensorCharts();
  });

  function poll() {
    fetch('/api/snapshot')
      .then(function (r) {
        return r.json();
      })
      .then(function (s) {
        render(s);
        setStatus(true, 'live (polling)');
      })
      .catch(function () {
        setStatus(false, 'disconnected');
      })
      .finally(function () {
        setTimeout(poll, 2000);
      });
  }

  if (typeof EventSource === 'function') {
    var source = new EventSource('/api/stream');
    source.onmessage = function (message) {
      render(JSON.parse(message.data));
      setStatus(true, 'live');
    };
    source.onerror = function () {
      setStatus(false, 'reconnecting…');
    };
  } else {
    poll();
  }

  window.sluiceDashboard = { charts: charts, state: state };
})();
