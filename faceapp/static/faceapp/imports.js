// Bulk upload: a ZIP goes up in one request (with its progress); a folder goes up file by file, in small requests
// (a reload in the middle keeps what was sent: the job's page takes the same folder again and sends only the rest);
// then the job's page follows the background import with a progress bar, and shows the report when it is done.
(function () {
  "use strict";
  const CHUNK_FILES = 40, ZERO = "00000000-0000-0000-0000-000000000000";

  function csrf(form) { return form.querySelector("input[name=csrfmiddlewaretoken]").value; }

  async function post(url, body) {
    const response = await fetch(url, {method: "POST", body: body, credentials: "same-origin"});
    const data = await response.json().catch(function () { return {error: "HTTP " + response.status}; });
    if (!response.ok) throw new Error(data.error || ("HTTP " + response.status));
    return data;
  }

  function personFiles(files) {
    return Array.from(files).filter(function (f) {
      return !f.webkitRelativePath.split("/").some(function (p) { return p.startsWith(".") || p === "__MACOSX"; });
    });
  }

  async function sendFiles(token, urls, files, already, progress) {
    const missing = files.filter(function (f) { return !already.has(f.webkitRelativePath.split("/").slice(1).join("/")); });
    for (let i = 0; i < missing.length; i += CHUNK_FILES) {
      const body = new FormData();
      body.append("csrfmiddlewaretoken", token);
      missing.slice(i, i + CHUNK_FILES).forEach(function (f) { body.append("file", f, f.name); body.append("path", f.webkitRelativePath); });
      await post(urls.files, body);
      progress(files.length - missing.length + Math.min(i + CHUNK_FILES, missing.length), files.length);
    }
    const start = new FormData();
    start.append("csrfmiddlewaretoken", token);
    return post(urls.start, start);
  }

  // --- The upload form ---------------------------------------------------------------------------------
  const form = document.getElementById("import-form");
  if (form) {
    const folder = document.getElementById("id_folder"), zip = document.getElementById("id_archive");
    const bar = form.querySelector("progress"), status = form.querySelector(".upload-status");
    const button = form.querySelector("button[type=submit]");
    if ("webkitdirectory" in document.createElement("input")) document.getElementById("folder-choice").hidden = false;
    function say(text, bad) { status.textContent = text; status.className = "upload-status " + (bad ? "flag" : "muted"); }
    function progress(done, total) { bar.hidden = false; bar.max = total; bar.value = done; say("Uploading… " + done + " of " + total + " files"); }

    form.addEventListener("submit", async function (event) {
      const files = folder && !zip.files.length ? personFiles(folder.files) : [];
      event.preventDefault();
      button.disabled = true;
      try {
        if (files.length) {
          const body = new FormData(form);
          body.delete("archive");
          body.append("folder", files[0].webkitRelativePath.split("/")[0]);
          const job = await post(form.dataset.folderUrl, body);
          const base = form.dataset.jobUrl.replace(ZERO, job.id);
          await sendFiles(csrf(form), {files: base + "files/", start: base + "start/"}, files, new Set(), progress);
          location.assign(base);
        } else {
          uploadZip();
        }
      } catch (error) {
        button.disabled = false;
        say("The upload failed: " + error.message + ". Try again (a folder upload goes on where it stopped, from the job's page).", true);
      }
    });

    function uploadZip() {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action") || location.href);
      bar.hidden = false; bar.removeAttribute("value");
      xhr.upload.onprogress = function (e) {
        if (!e.lengthComputable) return;
        bar.max = e.total; bar.value = e.loaded;
        say(e.loaded < e.total ? "Uploading… " + Math.round(100 * e.loaded / e.total) + "%" : "Unpacking…");
      };
      xhr.onload = function () {
        if (xhr.status >= 500 || !/text\/html/.test(xhr.getResponseHeader("Content-Type") || "")) {
          button.disabled = false; return say("The server could not take the upload (" + xhr.status + "). Try again.", true);
        }
        if (xhr.responseURL && xhr.responseURL !== location.href) { location.assign(xhr.responseURL); return; }
        document.open(); document.write(xhr.responseText); document.close();
      };
      xhr.onerror = function () { button.disabled = false; say("The upload failed: the server could not be reached. Try again.", true); };
      xhr.send(new FormData(form));
    }
  }

  // --- A job's page: follow its progress; an unfinished folder upload takes the folder again ---------------
  const job = document.getElementById("job");
  if (job) {
    const bar = document.getElementById("job-progress"), count = document.getElementById("job-count");
    const badge = document.getElementById("job-status"), people = document.getElementById("job-people");
    const counts = document.getElementById("job-counts"), words = document.getElementById("job-words");
    const resumeFolder = document.getElementById("id_resume_folder");
    let previous = job.dataset.status;

    function show(state) {
      bar.max = Math.max(state.total, 1); bar.value = state.processed;
      count.textContent = state.processed + " of " + state.total;
      people.textContent = state.people_created;
      badge.textContent = state.status_display; badge.className = "badge " + state.status;
      counts.replaceChildren.apply(counts, Object.keys(state.counts).map(function (reason) {
        const li = document.createElement("li"), b = document.createElement("span");
        b.className = "badge " + (reason === "imported" ? "imported" : reason === "duplicate" ? "neutral" : "poor");
        b.textContent = reason; li.append(b, " " + state.counts[reason]); return li;
      }));
    }

    async function poll() {
      try {
        const response = await fetch(job.dataset.statusUrl, {credentials: "same-origin"});
        const state = await response.json();
        show(state);
        if (state.status !== previous && (state.finished || previous === "uploading")) { location.reload(); return; }
        previous = state.status;
        if (!state.finished && state.status !== "uploading") setTimeout(poll, 1000);
      } catch (error) {
        words.textContent = "Cannot reach the server; retrying."; setTimeout(poll, 3000);
      }
    }
    if (previous !== "uploading" && ["done", "stopped", "failed"].indexOf(previous) < 0) poll();

    if (resumeFolder) resumeFolder.addEventListener("change", async function () {
      const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
      try {
        const state = await (await fetch(job.dataset.statusUrl + "?received=1", {credentials: "same-origin"})).json();
        await sendFiles(token, {files: job.dataset.filesUrl, start: job.dataset.startUrl}, personFiles(resumeFolder.files),
          new Set(state.received), function (done, total) { bar.max = total; bar.value = done; words.textContent = "Uploading… " + done + " of " + total + " files"; });
        location.reload();
      } catch (error) { words.textContent = "The upload failed: " + error.message + ". Pick the folder again to go on."; }
    });
  }
})();
