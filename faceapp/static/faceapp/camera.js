// The enrol page's camera capture: offered only where the browser lists a camera, and a shot is added to the photos
// only once the camera gives real frames (a capture before that, or from a camera that sends nothing, adds nothing).
(function () {
  "use strict";
  const box = document.getElementById("camera"), input = document.getElementById("id_photos");
  const media = navigator.mediaDevices;
  if (!box || !input || !media || !media.getUserMedia || !media.enumerateDevices || !window.DataTransfer) return;
  const video = box.querySelector("video"), start = document.getElementById("camera-start");
  const shoot = document.getElementById("camera-shoot"), state = document.getElementById("camera-status");
  let shots = 0;

  media.enumerateDevices().then(function (devices) {
    if (devices.some(function (d) { return d.kind === "videoinput"; })) box.hidden = false;
  }).catch(function () { /* no camera to offer */ });

  function hasFrame() { return video.readyState >= 2 && video.videoWidth > 0 && video.videoHeight > 0; }

  start.addEventListener("click", function () {
    state.textContent = "Starting the camera…";
    media.getUserMedia({video: true}).then(function (stream) {
      video.srcObject = stream; video.hidden = false; shoot.hidden = false;
      video.addEventListener("loadeddata", function () { shoot.disabled = !hasFrame(); state.textContent = "Ready."; });
    }).catch(function (error) { state.textContent = "The camera is not available: " + error.message; });
  });

  shoot.addEventListener("click", function () {
    if (!hasFrame()) { state.textContent = "The camera has not sent a picture yet: nothing was added."; return; }
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob(function (blob) {
      if (!blob || blob.size < 1024) { state.textContent = "The camera gave an empty picture: nothing was added."; return; }
      const files = new DataTransfer();
      for (const f of input.files) files.items.add(f);
      files.items.add(new File([blob], "camera-" + (++shots) + ".jpg", {type: "image/jpeg"}));
      input.files = files.files;
      state.textContent = input.files.length + " photo(s) ready.";
    }, "image/jpeg", 0.92);
  });
})();
