// sladesk pages: live SLA countdowns and keyboard shortcuts. Served from
// /assets (the CSP allows no inline script).
"use strict";

(function () {
  // The server sends, per clock, the business seconds left at `computed`
  // and the open intervals after it in which the clock runs; between them
  // the count stands still. So the count reaches zero exactly at the due
  // instant the page shows, outside business hours included.
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // The server's words (domain::duration::business_text): whole days in
  // the clock's own day, named "business day" unless the calendar is 24x7.
  function durationText(secs, day) {
    var s = Math.abs(secs);
    day = Math.max(day || 86400, 1);
    var d = Math.floor(s / day), rest = s % day;
    var h = Math.floor(rest / 3600), m = Math.floor((rest % 3600) / 60), sec = rest % 60;
    if (d > 0) {
      var days = d + " " + (day >= 86400 ? "day" : "business day") + (d === 1 ? "" : "s");
      if (h === 0 && m === 0) return days;
      if (h === 0) return days + " " + m + " min";
      if (m === 0) return days + " " + h + " h";
      return days + " " + h + " h " + pad(m) + " min";
    }
    if (h > 0) return h + " h " + pad(m) + " min";
    if (m > 0) return m + " min " + pad(sec) + " s";
    return sec + " s";
  }
  function parseRuns(text) {
    if (!text) return [];
    return text.split(",").map(function (p) {
      var ab = p.split("-");
      return [parseInt(ab[0], 10), parseInt(ab[1], 10)];
    });
  }
  function elapsedIn(runs, from, to) {
    var total = 0;
    for (var i = 0; i < runs.length; i++) {
      var a = Math.max(runs[i][0], from), b = Math.min(runs[i][1], to);
      if (b > a) total += b - a;
    }
    return total;
  }
  // The server's clock, not the browser's: the page is told the instant it
  // was computed, and counts on from there by elapsed real time.
  var loadedAt = Date.now();
  function tick() {
    var nodes = document.querySelectorAll(".countdown");
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i];
      var remaining = parseInt(el.dataset.remaining, 10);
      var computed = parseInt(el.dataset.computed, 10);
      if (isNaN(remaining) || isNaN(computed)) continue;
      var now = computed + Math.floor((Date.now() - loadedAt) / 1000);
      var left = remaining - elapsedIn(el._runs || (el._runs = parseRuns(el.dataset.runs)), computed, now);
      var day = parseInt(el.dataset.day, 10);
      var text = left >= 0 ? durationText(left, day) + " left" : "overdue by " + durationText(left, day);
      if (el.dataset.paused === "true") text = text + " (not counting now)";
      if (el.textContent !== text) el.textContent = text;
    }
  }

  function typing(e) {
    var t = e.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }
  var pendingG = false;
  var selected = -1;
  function rows() { return document.querySelectorAll("tr.row-link"); }
  function select(i) {
    var rs = rows();
    if (!rs.length) return;
    selected = Math.max(0, Math.min(rs.length - 1, i));
    for (var k = 0; k < rs.length; k++) rs[k].classList.toggle("selected", k === selected);
    var link = rs[selected].querySelector("a");
    if (link) link.focus();
  }
  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
    var k = e.key;
    if (pendingG) {
      pendingG = false;
      if (k === "q") { window.location.href = "/queue"; e.preventDefault(); }
      return;
    }
    if (k === "g") { pendingG = true; return; }
    if (k === "?") {
      var d = document.getElementById("shortcuts");
      if (d && d.showModal) { d.showModal(); e.preventDefault(); }
      return;
    }
    if (k === "j") { select(selected + 1); e.preventDefault(); return; }
    if (k === "k") { select(selected - 1); e.preventDefault(); return; }
    if (k === "x") {
      // Ticks the chosen row for the queue's bulk form.
      var r = rows()[selected];
      var box = r && r.querySelector("input.pick");
      if (box) { box.checked = !box.checked; e.preventDefault(); }
      return;
    }
    if (k === "/") {
      var s = document.getElementById("search-q");
      if (s) { s.focus(); e.preventDefault(); }
      return;
    }
    if (k === "f") {
      var f = document.querySelector("#filters select, #filters input");
      if (f) { f.focus(); e.preventDefault(); }
      return;
    }
    var target = document.querySelector('[data-key="' + k + '"]');
    if (!target) return;
    e.preventDefault();
    if (target.tagName === "FORM") {
      target.submit();
    } else if (target.type === "radio") {
      target.checked = true;
      var body = document.getElementById("body");
      if (body) body.focus();
    } else {
      target.focus();
    }
  }

  // Who else is on the ticket: a heartbeat every 10 seconds (and at once
  // when the reply box is first typed in), answered with the others.
  function presence() {
    var p = document.getElementById("presence");
    if (!p || !window.fetch) return;
    var body = document.getElementById("body");
    var replying = body && (document.activeElement === body || body.value.trim() !== "");
    var form = new URLSearchParams();
    form.append("csrf", p.getAttribute("data-csrf"));
    form.append("replying", replying ? "1" : "0");
    fetch("/tickets/" + encodeURIComponent(p.getAttribute("data-ticket")) + "/presence", {
      method: "POST", body: form, credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (others) {
      if (!others) return;
      var text = others.map(function (o) {
        return o.name + " is " + (o.replying ? "writing a reply." : "viewing this ticket.");
      }).join(" ");
      p.textContent = text || "No one else has this ticket open.";
    }).catch(function () {});
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    document.addEventListener("keydown", onKey);
    if (document.getElementById("presence")) {
      presence();
      setInterval(presence, 10000);
      var body = document.getElementById("body");
      if (body) body.addEventListener("input", function once() {
        body.removeEventListener("input", once);
        presence();
      });
    }
  });
})();
