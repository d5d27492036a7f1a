// comem view: click a step (or its bar) to show the context the agent saw; poll a live episode; route the export.
(function () {
  "use strict";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showContext(root, n) {
    var data = root._ctx || (root._ctx = JSON.parse(root.querySelector("script.ctx-data").textContent));
    var panel = root.querySelector(".context-panel");
    var row = root.querySelector('tr.step-row[data-step="' + n + '"]');
    root.querySelectorAll(".selected").forEach(function (x) { x.classList.remove("selected"); });
    root.querySelectorAll('.bar[data-step="' + n + '"]').forEach(function (x) { x.classList.add("selected"); });
    panel.textContent = "";
    panel.dataset.step = n;
    panel.appendChild(el("h3", null, "Context at step " + n));
    if (row) {
      row.classList.add("selected");
      panel.appendChild(el("div", "saw", row.dataset.saw));
    }
    var ctx = data.steps[String(n)];
    if (!ctx) {
      panel.appendChild(el("p", "muted", "This step's context cannot be rebuilt (see the notices above)."));
      return;
    }
    var check = ctx.matches === null ? ["", "the step recorded no context size to check against"]
      : ctx.matches ? ["ok", "matches the recorded size"] : ["bad", "differs from the recorded size (" +
        row.dataset.recorded + ")"];
    panel.appendChild(el("div", "check " + check[0], ctx.messages + " messages, " + ctx.chars.toLocaleString() +
      " characters: " + check[1]));
    ctx.runs.forEach(function (run) {
      for (var id = run[0]; id <= run[1]; id++) {
        var t = data.texts[id];
        var box = el("details", "msg " + t[0] + (t[2].indexOf("summary") >= 0 ? " summary" : ""));
        box.open = true;
        box.appendChild(el("summary", null, t[0] + " · " + t[1].length.toLocaleString() + " chars" +
          (t[2] ? " · " + t[2] : "")));
        box.appendChild(el("pre", null, t[1]));
        panel.appendChild(box);
      }
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("tr.step-row, .bar[data-step]");
    if (!target || event.target.closest("details.obs")) return;
    var root = target.closest(".episode");
    if (root) showContext(root, target.dataset.step);
  });

  var stamped = document.querySelector("[data-stamp-url]");
  if (stamped && location.protocol !== "file:") {
    var first = stamped.dataset.stamp;
    setInterval(function () {
      fetch(stamped.dataset.stampUrl, { credentials: "same-origin" }).then(function (r) { return r.json(); })
        .then(function (s) { if (s.stamp !== first) location.reload(); }).catch(function () {});
    }, 2000);
  }

  if (document.body.dataset.export) {
    var route = function () {
      var want = decodeURIComponent(location.hash.slice(1)) || "/";
      var pages = document.querySelectorAll("section.page");
      var found = false;
      pages.forEach(function (p) { var on = p.dataset.path === want; p.hidden = !on; found = found || on; });
      if (!found) pages[0].hidden = false;
      window.scrollTo(0, 0);
    };
    window.addEventListener("hashchange", route);
    route();
  }
})();
