/* The live dashboard: one WebSocket, a snapshot on connect, updates and events as they come.
 *
 * The socket is authenticated by the admin session cookie, which the browser sends again on every
 * reconnect, so each reconnection is checked afresh (4401: the session is gone, 4403: no
 * permission); no token is kept in the page. Reconnects back off exponentially with jitter; a
 * ping every 25 s detects a dead connection that never said goodbye.
 */
(function () {
  "use strict";

  const root = document.getElementById("content-main");
  const stateBadge = document.getElementById("connection-state");
  const FEED_LENGTH = 20;
  const PING_EVERY_MS = 25000;
  const PONG_WITHIN_MS = 10000;
  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 30000;

  let socket = null;
  let attempt = 0;
  let reconnectTimer = null;
  let pingTimer = null;
  let pongTimer = null;
  let snapshot = null;
  let chart = null;
  let lastWeekDay = null;
  let lastWeekByHour = new Map();
  const feedIds = new Set();

  // --- formatting ------------------------------------------------------------------------

  function money(value) {
    if (value === null || value === undefined) return "–";
    const number = Number(value);
    return number.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function integer(value) {
    return value === null || value === undefined ? "–" : Number(value).toLocaleString();
  }

  function localTime(iso, timeZone) {
    if (!iso) return "–";
    return new Date(iso).toLocaleTimeString(undefined, { timeZone: timeZone || undefined, hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function hourLabel(iso, timeZone) {
    return new Date(iso).toLocaleTimeString("en-GB", { timeZone: timeZone, hour: "2-digit", minute: "2-digit", hour12: false });
  }

  function storeDate(iso, timeZone) {
    // en-CA formats a date as YYYY-MM-DD.
    return new Date(iso).toLocaleDateString("en-CA", { timeZone: timeZone });
  }

  function daysBefore(isoDate, days) {
    const [y, m, d] = isoDate.split("-").map(Number);
    const date = new Date(Date.UTC(y, m - 1, d - days));
    return date.toISOString().slice(0, 10);
  }

  function pick(object, path) {
    return path.split(".").reduce((value, key) => (value == null ? undefined : value[key]), object);
  }

  function change(current, previous) {
    const now = Number(current);
    const before = Number(previous);
    if (!isFinite(now) || !isFinite(before)) return { text: "–", css: "" };
    if (before === 0) return { text: now === 0 ? "±0" : "new", css: now > 0 ? "ld-up" : "" };
    const pct = ((now - before) / before) * 100;
    const sign = pct > 0 ? "+" : "";
    return { text: `${sign}${pct.toFixed(1)}%`, css: pct > 0 ? "ld-up" : pct < 0 ? "ld-down" : "" };
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  // --- connection state ------------------------------------------------------------------

  function setState(kind, text) {
    stateBadge.className = `ld-state ld-state-${kind}`;
    stateBadge.textContent = text;
    root.dataset.connection = kind;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    setState(attempt ? "reconnecting" : "connecting", attempt ? "Reconnecting…" : "Connecting…");
    const origin = root.dataset.websocketOrigin || `${scheme}://${window.location.host}`;
    socket = new WebSocket(`${origin}${root.dataset.websocketPath}`);
    socket.addEventListener("message", (event) => handle(JSON.parse(event.data)));
    socket.addEventListener("close", onClose);
  }

  function onClose(event) {
    stopHeartbeat();
    socket = null;
    if (event.code === 4401) {
      setState("offline", "Signed out: log in again");
      stateBadge.innerHTML = `Signed out: <a href="${escapeHtml(root.dataset.loginUrl)}">log in again</a>`;
      return;
    }
    if (event.code === 4403) {
      setState("offline", "No permission to view sales");
      return;
    }
    attempt += 1;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (attempt - 1));
    const jittered = Math.round(delay / 2 + Math.random() * (delay / 2));
    setState("reconnecting", `Disconnected: retrying in ${Math.ceil(jittered / 1000)} s`);
    reconnectTimer = setTimeout(connect, jittered);
  }

  function startHeartbeat() {
    stopHeartbeat();
    pingTimer = setInterval(() => {
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      socket.send(JSON.stringify({ type: "ping" }));
      pongTimer = setTimeout(() => socket && socket.close(), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  function stopHeartbeat() {
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
  }

  // --- messages --------------------------------------------------------------------------

  function handle(message) {
    switch (message.type) {
      case "dashboard.snapshot":
        attempt = 0;
        setState("live", "Live");
        startHeartbeat();
        render(message.data);
        break;
      case "dashboard.update":
        render(message.data);
        break;
      case "sale.recorded":
        addSale(message.data, true);
        break;
      case "stock.low":
        addStockAlert(message.data, "low");
        break;
      case "stock.out":
        addStockAlert(message.data, "out");
        break;
      case "pong":
        clearTimeout(pongTimer);
        break;
      case "error":
        console.warn("dashboard:", message.data);
        break;
      default:
        break;
    }
  }

  // --- rendering -------------------------------------------------------------------------

  function render(data) {
    const previous = snapshot;
    snapshot = data;
    document.querySelectorAll("[data-field]").forEach((element) => {
      const path = element.dataset.field;
      const value = pick(data, path);
      const text = /revenue|value|same_span/.test(path) ? money(value) : integer(value);
      if (element.textContent !== text) {
        element.textContent = text;
        if (previous) flash(element);
      }
    });
    document.querySelectorAll("[data-compare]").forEach((element) => {
      const [period, field] = element.dataset.compare.split(".");
      const result = change(pick(data, `today.${field}`), pick(data, `${period}.${field}`));
      element.textContent = result.text;
      element.className = result.css;
      element.title = `${period.replace(/_/g, " ")}: ${/revenue/.test(field) ? money(pick(data, `${period}.${field}`)) : integer(pick(data, `${period}.${field}`))}`;
    });
    const month = data.month_to_date || {};
    const monthChange = document.getElementById("month-change");
    if (month.change_pct === null || month.change_pct === undefined) {
      monthChange.textContent = "–";
      monthChange.className = "";
    } else {
      const pct = Number(month.change_pct);
      monthChange.textContent = `${pct > 0 ? "+" : ""}${pct.toFixed(1)}%`;
      monthChange.className = pct > 0 ? "ld-up" : pct < 0 ? "ld-down" : "";
    }
    document.getElementById("data-as-of").textContent = data.data_as_of ? new Date(data.data_as_of).toLocaleString() : "no sales yet";
    document.getElementById("generated-at").textContent = localTime(data.generated_at);
    document.getElementById("time-zone").textContent = data.time_zone;
    renderTopProducts(data.top_products_today || []);
    renderLowStock(data.low_stock || []);
    (data.recent_sales || []).slice().reverse().forEach((sale) => addSale(sale, false));
    renderChart(data);
  }

  function flash(element) {
    element.classList.remove("ld-flash");
    void element.offsetWidth; // restart the animation
    element.classList.add("ld-flash");
  }

  function renderTopProducts(rows) {
    const body = document.getElementById("top-products");
    body.innerHTML = rows.length
      ? rows.map((row) => `<tr><td>${escapeHtml(row.product_name)} <span class="ld-compare">${escapeHtml(row.sku)}</span></td>
          <td class="ld-num">${integer(row.units)}</td><td class="ld-num">${integer(row.orders)}</td>
          <td class="ld-num">${money(row.net_revenue)}</td></tr>`).join("")
      : `<tr><td colspan="4" class="ld-empty">No sales yet today.</td></tr>`;
  }

  function renderLowStock(rows) {
    const body = document.getElementById("low-stock");
    body.innerHTML = rows.length
      ? rows.map((row) => `<tr class="${row.quantity === 0 ? "ld-out" : ""}">
          <td>${escapeHtml(row.product_name)} <span class="ld-compare">${escapeHtml(row.sku)}</span></td>
          <td class="ld-num">${integer(row.quantity)}</td><td class="ld-num">${integer(row.low_stock_threshold)}</td>
          <td class="ld-num">${row.days_of_cover === null ? "no recent sales" : escapeHtml(row.days_of_cover)}</td>
          <td>${row.quantity === 0 ? "out of stock" : escapeHtml(row.projected_stockout_date || "–")}</td></tr>`).join("")
      : `<tr><td colspan="5" class="ld-empty">Nothing is low on stock.</td></tr>`;
  }

  function feedItem(html, isNew) {
    const list = document.getElementById("live-feed");
    const empty = list.querySelector(".ld-empty");
    if (empty) empty.remove();
    const item = document.createElement("li");
    item.innerHTML = html;
    if (isNew) item.classList.add("ld-new");
    list.prepend(item);
    while (list.children.length > FEED_LENGTH) list.lastElementChild.remove();
    return item;
  }

  function addSale(sale, isNew) {
    if (feedIds.has(sale.id)) return;
    feedIds.add(sale.id);
    const zone = snapshot && snapshot.time_zone;
    const item = feedItem(
      `<span class="ld-when">${localTime(sale.sold_at, zone)}</span>
       <strong>${escapeHtml(sale.number)}</strong> ${money(sale.net_total || sale.total)}
       · ${integer(sale.units)} unit${sale.units === 1 ? "" : "s"} · ${escapeHtml(sale.channel)}`,
      isNew,
    );
    item.dataset.sale = sale.id;
  }

  function addStockAlert(data, kind) {
    const zone = snapshot && snapshot.time_zone;
    const label = kind === "out" ? '<span class="ld-alert">Out of stock</span>' : '<span class="ld-warn">Low stock</span>';
    feedItem(
      `<span class="ld-when">${localTime(new Date().toISOString(), zone)}</span>${label}:
       ${escapeHtml(data.product_name)} (${escapeHtml(data.sku)}), ${integer(data.quantity)} left, threshold ${integer(data.low_stock_threshold)}`,
      true,
    ).dataset.stock = kind;
  }

  // --- chart -----------------------------------------------------------------------------

  function renderChart(data) {
    if (!window.Chart || !data.hourly_today) return;
    const zone = data.time_zone;
    const labels = data.hourly_today.map((row) => hourLabel(row.hour, zone));
    const today = data.hourly_today.map((row) => Number(row.net_revenue));
    const day = data.hourly_today.length ? storeDate(data.hourly_today[0].hour, zone) : null;
    if (day && day !== lastWeekDay) {
      lastWeekDay = day;
      loadLastWeek(daysBefore(day, 7), zone);
    }
    const lastWeek = labels.map((label) => (lastWeekByHour.has(label) ? lastWeekByHour.get(label) : null));
    if (!chart) {
      chart = new window.Chart(document.getElementById("hourly-chart"), {
        type: "bar",
        data: {
          labels,
          datasets: [
            { label: "Today", data: today, backgroundColor: "#417690" },
            { label: "Same day last week", data: lastWeek, type: "line", borderColor: "#c4a000", backgroundColor: "#c4a000", cubicInterpolationMode: "monotone", pointRadius: 2 },
          ],
        },
        options: {
          maintainAspectRatio: false,
          animation: { duration: 300 },
          scales: { y: { beginAtZero: true, ticks: { callback: (value) => money(value) } } },
          plugins: { tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${money(ctx.parsed.y)}` } } },
        },
      });
    } else {
      chart.data.labels = labels;
      chart.data.datasets[0].data = today;
      chart.data.datasets[1].data = lastWeek;
      chart.update();
    }
  }

  function loadLastWeek(date, zone) {
    // Last week's day is history: fetched once per store day, with the page's session.
    const url = `${root.dataset.analyticsUrl}?interval=hour&start_date=${date}&end_date=${date}`;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(new Error(`HTTP ${response.status}`))))
      .then((body) => {
        lastWeekByHour = new Map(body.series.map((row) => [hourLabel(row.period_start, zone), Number(row.net_revenue)]));
        if (snapshot) renderChart(snapshot);
      })
      .catch((error) => console.warn("dashboard: last week's hours unavailable:", error));
  }

  // Reconnect at once when the network comes back or the tab wakes up, rather than waiting out the backoff.
  window.addEventListener("online", () => { if (!socket) { attempt = 0; connect(); } });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && !socket && reconnectTimer) { attempt = 0; connect(); }
  });

  connect();
})();
