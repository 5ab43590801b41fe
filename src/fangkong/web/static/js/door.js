/* The door page (/venues/{ref}/door): reading health codes with the device's camera, and getting ready for the
   next visitor after each answer. The QR reader (vendor/jsqr) is loaded only when the camera is started. Without a
   camera (a desktop, a refused permission, an old browser) the button is disabled and says why: a handheld scanner
   types into the code field, which keeps the cursor. Every text arrives translated in data-* attributes. */
(function () {
  "use strict";

  var MAX_WIDTH = 640; // frames are scaled down to this: enough for a code held up to the camera, and fast

  function loadReader(src) {
    if (window.jsQR) {
      return Promise.resolve();
    }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function start() {
    var box = document.querySelector("[data-camera]");
    var form = document.getElementById("door-form");
    var field = document.getElementById("field-token");
    var temperature = document.getElementById("field-temperature");
    if (!box || !form || !field) {
      return;
    }
    var button = box.querySelector("[data-camera-start]");
    var video = box.querySelector("video");
    var status = box.querySelector("[data-camera-status]");
    var canvas = document.createElement("canvas");
    var context = canvas.getContext("2d", { willReadFrequently: true });
    var stream = null;
    var scanning = false;

    function say(text) {
      status.textContent = text || "";
      status.hidden = !text;
    }

    function unavailable(message) {
      button.disabled = true;
      box.classList.add("is-unavailable");
      box.dataset.camera = "unavailable";
      say(message);
    }

    function stop() {
      scanning = false;
      if (stream) {
        stream.getTracks().forEach(function (track) { track.stop(); });
      }
      stream = null;
      video.hidden = true;
      button.textContent = box.dataset.labelStart;
    }

    function frame() {
      if (!scanning) {
        return;
      }
      if (video.readyState >= 2 && video.videoWidth) {
        var scale = Math.min(1, MAX_WIDTH / video.videoWidth);
        canvas.width = Math.round(video.videoWidth * scale);
        canvas.height = Math.round(video.videoHeight * scale);
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        var image = context.getImageData(0, 0, canvas.width, canvas.height);
        var code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
        if (code && code.data) {
          field.value = code.data;
          stop();
          form.requestSubmit();
          return;
        }
      }
      window.requestAnimationFrame(frame);
    }

    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      unavailable(box.dataset.msgNone);
    } else {
      box.dataset.camera = "maybe";
      if (navigator.mediaDevices.enumerateDevices) {
        navigator.mediaDevices.enumerateDevices().then(function (devices) {
          var cameras = devices.filter(function (d) { return d.kind === "videoinput"; });
          if (cameras.length) {
            box.dataset.camera = "ready";
          } else {
            unavailable(box.dataset.msgNone);
          }
        }).catch(function () { /* asking again at the tap is enough */ });
      }
    }

    button.addEventListener("click", function () {
      if (scanning) {
        stop();
        return;
      }
      loadReader(box.dataset.reader).then(function () {
        return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      }).then(function (media) {
        stream = media;
        video.srcObject = media;
        video.hidden = false;
        scanning = true;
        button.textContent = box.dataset.labelStop;
        say("");
        return video.play().then(function () { window.requestAnimationFrame(frame); });
      }).catch(function (error) {
        stop();
        if (error && error.name === "NotAllowedError") {
          say(box.dataset.msgDenied);
        } else {
          unavailable(box.dataset.msgNone);
        }
      });
    });

    // After each answer the fields are empty and the cursor is back for the next visitor's code.
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target && event.detail.target.id === "door-result") {
        field.value = "";
        if (temperature) {
          temperature.value = "";
        }
        field.focus();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
