// A fresh snapshot of a camera, on demand: the buttons live in rows that refresh themselves, so clicks are delegated.
(function () {
  "use strict";
  const box = document.getElementById("snapshot-box");
  if (!box) return;
  const image = document.getElementById("snapshot-image"), state = document.getElementById("snapshot-state");
  const title = document.getElementById("snapshot-title");
  document.addEventListener("click", async function (event) {
    const button = event.target.closest("button[data-snapshot]");
    if (!button) return;
    box.hidden = false;
    title.textContent = "Snapshot of " + button.dataset.camera;
    state.textContent = "Opening the camera…";
    image.hidden = true;
    try {
      const response = await fetch(button.dataset.snapshot + "?t=" + Date.now(), {credentials: "same-origin"});
      if (!response.ok) throw new Error(await response.text());
      const blob = await response.blob();
      if (image.src.startsWith("blob:")) URL.revokeObjectURL(image.src);
      image.src = URL.createObjectURL(blob);
      image.alt = "What " + button.dataset.camera + " sees now";
      image.hidden = false;
      state.textContent = "Taken " + new Date().toLocaleTimeString() + ".";
    } catch (error) {
      state.textContent = "No snapshot: " + error.message;
    }
    box.scrollIntoView({block: "nearest"});
  });
})();
