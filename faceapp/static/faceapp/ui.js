// The operator web UI: what every page shares. Loaded with `defer`; no inline scripts or handlers anywhere
// (the pages run under a Content-Security-Policy). Everything here is an enhancement: the pages work without it.
(function () {
  "use strict";
  document.documentElement.classList.remove("no-js");
  document.documentElement.classList.add("js");

  // --- The phone menu: one line with a button that opens the links. ---------------------------------------
  const header = document.querySelector("header.top"), toggle = document.getElementById("menu-toggle");
  if (header && toggle) {
    toggle.addEventListener("click", function () {
      const open = header.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && header.classList.contains("open")) {
        header.classList.remove("open"); toggle.setAttribute("aria-expanded", "false"); toggle.focus();
      }
    });
  }

  // --- Times in the browser's zone: <time datetime="ISO" data-local="datetime|time|date">UTC text</time>. ---
  const formats = {
    datetime: {dateStyle: "medium", timeStyle: "short"},
    seconds: {dateStyle: "medium", timeStyle: "medium"},
    time: {timeStyle: "medium"},
    date: {dateStyle: "medium"},
  };
  function localTimes(root) {
    (root || document).querySelectorAll("time[data-local]").forEach(function (el) {
      const when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      el.textContent = new Intl.DateTimeFormat(undefined, formats[el.dataset.local] || formats.datetime).format(when);
      el.title = when.toISOString().replace(".000Z", "Z") + " (UTC)";
    });
  }
  window.faceapp = {localTimes: localTimes};
  localTimes(document);
  // Forms that take a time range say which zone their times are in.
  // The server reads the browser's zone from a cookie: "today" on the dashboard, times typed in the events' filter.
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  if (zone && /^[A-Za-z0-9_+\-\/]+$/.test(zone)) document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";

  // --- Fragments that refresh themselves: <div data-poll="URL" data-poll-every="ms">. ----------------------
  document.querySelectorAll("[data-poll]").forEach(function (box) {
    const every = parseInt(box.dataset.pollEvery || "5000", 10);
    async function refresh() {
      try {
        const response = await fetch(box.dataset.poll, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}});
        if (!response.ok) throw new Error("HTTP " + response.status);
        box.innerHTML = await response.text();
        localTimes(box);
        box.removeAttribute("aria-busy");
      } catch (error) {
        box.setAttribute("aria-busy", "true");
      }
    }
    setInterval(refresh, every);
  });

  // --- Uploads show their progress; a failed upload leaves the page (and what was typed) as it was. --------
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest) return;
      event.preventDefault();
      const data = new FormData(form, event.submitter || undefined);
      const bar = form.querySelector("progress"), status = form.querySelector(".upload-status");
      const buttons = form.querySelectorAll("button[type=submit]");
      const photos = Array.from(form.querySelectorAll("input[type=file]")).reduce(function (n, i) { return n + i.files.length; }, 0);
      const xhr = new XMLHttpRequest();
      let ticking = null;
      // getAttribute: a field named "action" would shadow form.action.
      xhr.open(form.getAttribute("method") || "POST", form.getAttribute("action") || location.href);
      if (bar) { bar.hidden = false; bar.removeAttribute("value"); }
      buttons.forEach(function (b) { b.disabled = true; });
      say("Uploading…");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable && bar) { bar.max = e.total; bar.value = e.loaded; }
        if (e.loaded < e.total) say("Uploading… " + Math.round(100 * e.loaded / e.total) + "%");
        else working();
      };
      xhr.upload.onload = working;
      function working() {
        if (ticking) return;
        const started = Date.now(), what = form.dataset.upload || "Finding faces";
        const count = photos > 1 ? " in " + photos + " photos" : photos === 1 ? " in the photo" : "";
        if (bar) bar.removeAttribute("value");
        function tick() { say(what + count + "… " + Math.round((Date.now() - started) / 1000) + " s"); }
        tick();
        ticking = setInterval(tick, 1000);
      }
      xhr.onload = function () {
        clearInterval(ticking);
        if (xhr.status >= 500 || !/text\/html/.test(xhr.getResponseHeader("Content-Type") || "")) {
          return failed("The server could not process the upload (" + xhr.status + "). Try again.");
        }
        if (xhr.responseURL && xhr.responseURL !== location.href) history.replaceState(null, "", xhr.responseURL);
        document.open(); document.write(xhr.responseText); document.close();
      };
      xhr.onerror = function () { clearInterval(ticking); failed("The upload failed: the server could not be reached. Nothing was lost; try again."); };
      function say(text) { if (status) status.textContent = text; }
      function failed(text) {
        if (bar) bar.hidden = true;
        buttons.forEach(function (b) { b.disabled = false; });
        if (status) { status.textContent = text; status.className = "upload-status flag"; }
      }
      xhr.send(data);
    });
  });

  // --- Checkboxes that reveal what they ask for (the reason of a reviewed exception): shown while one is ticked.
  const revealed = {};
  document.querySelectorAll("input[data-reveals]").forEach(function (box) {
    (revealed[box.dataset.reveals] = revealed[box.dataset.reveals] || []).push(box);
  });
  document.querySelectorAll("[data-revealed-by-tick]").forEach(function (target) {
    const boxes = revealed[target.id] || [];
    function sync() { target.hidden = !boxes.some(function (b) { return b.checked; }); }
    boxes.forEach(function (b) { b.addEventListener("change", sync); });
    sync();
  });
})();
