/* Herald desk: the editor's CVSS calculator, live preview and "add a row".
 *
 * Progressive enhancement only: every form works without this file (the vector
 * is a text field, "Preview" is a submit button, each table has blank rows).
 * No inline script, no eval, no third-party code: it runs under a strict CSP.
 * Scores come from the server (the CVSS library that scores on save).
 */
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // ------------------------------------------------------------ CVSS calculator

  function parseVector(text) {
    var parts = (text || "").trim().split("/");
    var metrics = {};
    parts.slice(1).forEach(function (p) {
      var kv = p.split(":");
      if (kv.length === 2) { metrics[kv[0]] = kv[1]; }
    });
    return { prefix: parts[0] || "", metrics: metrics };
  }

  function buildVector(spec, chosen, previous) {
    var keys = spec.metrics.map(function (m) { return m.key; });
    var out = [spec.prefix];
    keys.forEach(function (k) { if (chosen[k]) { out.push(k + ":" + chosen[k]); } });
    // Keep metrics the calculator does not offer (temporal, environmental) as typed.
    Object.keys(previous.metrics).forEach(function (k) {
      if (keys.indexOf(k) < 0) { out.push(k + ":" + previous.metrics[k]); }
    });
    return out.join("/");
  }

  function setUpCalculator(box, spec, scoreUrl) {
    var input = document.getElementById(box.getAttribute("data-vector-input"));
    var field = box.getAttribute("data-cvss-field");
    if (!input || !spec) { return; }
    var heading = el("p", { "class": "cvss-title" }, spec.prefix.replace("CVSS:", "CVSS v") + " calculator");
    var grid = el("div", { "class": "cvss-grid" });
    var selects = {};
    spec.metrics.forEach(function (m) {
      var id = field + "-" + m.key;
      var wrap = el("div", { "class": "field" });
      var label = el("label", { "for": id }, m.label + " (" + m.key + ")");
      var select = el("select", { id: id, "aria-describedby": id + "-help" });
      select.appendChild(el("option", { value: "" }, "Choose…"));
      m.values.forEach(function (v) { select.appendChild(el("option", { value: v[0] }, v[1] + " (" + v[0] + ")")); });
      var help = el("span", { id: id + "-help", "class": "helptext" }, m.help);
      wrap.appendChild(label); wrap.appendChild(select); wrap.appendChild(help);
      grid.appendChild(wrap);
      selects[m.key] = select;
      select.addEventListener("change", function () {
        var chosen = {};
        Object.keys(selects).forEach(function (k) { chosen[k] = selects[k].value; });
        input.value = buildVector(spec, chosen, parseVector(input.value));
        input.dispatchEvent(new Event("input", { bubbles: true }));
      });
    });
    var output = el("output", { "class": "cvss-score", "for": input.id, "aria-live": "polite" });
    box.appendChild(heading); box.appendChild(grid); box.appendChild(output);
    box.hidden = false;

    function syncSelects() {
      var parsed = parseVector(input.value);
      Object.keys(selects).forEach(function (k) { selects[k].value = parsed.metrics[k] || ""; });
      return parsed;
    }

    var score = debounce(function () {
      var parsed = syncSelects();
      if (!input.value.trim()) { output.textContent = "No vector."; output.className = "cvss-score"; return; }
      var missing = spec.metrics.filter(function (m) { return !parsed.metrics[m.key]; });
      if (missing.length) {
        output.textContent = "Choose " + missing.map(function (m) { return m.label.toLowerCase(); }).join(", ") + ".";
        output.className = "cvss-score";
        return;
      }
      var url = scoreUrl + "?field=" + encodeURIComponent(field) + "&vector=" + encodeURIComponent(input.value.trim());
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (data.error) {
            output.textContent = data.error;
            output.className = "cvss-score error";
          } else {
            output.textContent = "Score " + data.score + " · " + data.severity.charAt(0).toUpperCase() + data.severity.slice(1);
            output.className = "cvss-score sev-" + data.severity;
          }
        })
        .catch(function () { output.textContent = "Could not reach the server to score it; it is scored when saved."; });
    }, 250);
    input.addEventListener("input", score);
    score();
  }

  // ------------------------------------------------------------ live preview

  function setUpPreview(form) {
    var target = document.getElementById("preview-body");
    var status = document.getElementById("preview-status");
    if (!target) { return; }
    var refresh = debounce(function () {
      var data = new FormData(form);
      data.set("_preview", "1");
      fetch(form.getAttribute("action") || window.location.href, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-Herald-Fragment": "1" }
      })
        .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
        .then(function (html) {
          target.innerHTML = html;  // our own server-rendered, escaped template
          if (status) { status.textContent = "Live preview, updated as you type. Nothing is saved until you save."; }
        })
        .catch(function () { if (status) { status.textContent = "The preview could not be updated; press Preview."; } });
    }, 600);
    form.addEventListener("input", refresh);
    form.addEventListener("change", refresh);
    refresh();
  }

  // ------------------------------------------------------------ add a row

  function setUpRows(table) {
    var prefix = table.getAttribute("data-rows");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var body = table.tBodies[0];
    if (!total || !body || !body.rows.length) { return; }
    var button = el("button", { type: "button", "class": "secondary add-row" }, "Add a row");
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var row = body.rows[body.rows.length - 1].cloneNode(true);
      row.querySelectorAll("[name],[id],[for]").forEach(function (node) {
        ["name", "id", "for"].forEach(function (attr) {
          var value = node.getAttribute(attr);
          if (value) { node.setAttribute(attr, value.replace(new RegExp(prefix + "-\\d+-"), prefix + "-" + index + "-")); }
        });
        if (node.tagName === "INPUT") {
          if (node.type === "checkbox") { node.checked = false; } else { node.value = ""; }
        } else if (node.tagName === "SELECT") {
          node.selectedIndex = 0;
        } else if (node.tagName === "LABEL") {
          node.textContent = node.textContent.replace(/row \d+$/, "row " + (index + 1));
        }
      });
      row.querySelectorAll(".errorlist").forEach(function (n) { n.remove(); });
      body.appendChild(row);
      total.value = String(index + 1);
      // Lists that name a row of this table by number (a remediation's product row)
      // offer the new one too.
      document.querySelectorAll("select[data-rows-of='" + prefix + "']").forEach(function (select) {
        select.appendChild(el("option", { value: String(index + 1) }, String(index + 1)));
      });
      var first = row.querySelector("select, input");
      if (first) { first.focus(); }
    });
    table.parentNode.insertBefore(button, table.nextSibling);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var specNode = document.getElementById("cvss-spec");
    var spec = specNode ? JSON.parse(specNode.textContent) : {};
    document.querySelectorAll(".cvss-calc[data-cvss-field]").forEach(function (box) {
      setUpCalculator(box, spec[box.getAttribute("data-cvss-field")], box.getAttribute("data-score-url"));
    });
    document.querySelectorAll("table[data-rows]").forEach(setUpRows);
    var form = document.querySelector("form[data-preview-target]");
    if (form) { setUpPreview(form); }
  });
})();
