/* The resident's code page (/code): a clock ticking each second on the code, so a screenshot shows its age; and
   the difference between a live code and a stale one. htmx fetches a fresh code every minute (the token lives 3
   minutes); when a fetch fails, or the code on screen has expired (a phone woken from sleep), the page greys the
   QR and says the code is not live. The clock follows the server's: its offset is taken from each code's issue
   time, so a phone whose own clock is wrong still shows the time the door staff see. */
(function () {
  "use strict";

  function start() {
    var live = document.getElementById("live-code");
    var banner = document.querySelector("[data-testid=not-live]");
    if (!live || !banner) {
      return;
    }
    var offset = 0; // phone clock minus server clock, in milliseconds
    var failed = false;
    var signedOut = false; // a 401: refreshing needs the login page, not another fetch
    var formats = {};

    function card() {
      return live.querySelector("[data-testid=health-code]");
    }

    // "2026-11-23" and "01:10:56" on the city's clock, whatever the phone's own time zone.
    function format(zone, instant) {
      if (!formats[zone]) {
        formats[zone] = new Intl.DateTimeFormat("en-GB", {
          timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
          hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
        });
      }
      var parts = {};
      formats[zone].formatToParts(instant).forEach(function (part) { parts[part.type] = part.value; });
      return {
        date: parts.year + "-" + parts.month + "-" + parts.day,
        time: parts.hour + ":" + parts.minute + ":" + parts.second
      };
    }

    function takeOffset() {
      var current = card();
      if (current) {
        offset = Date.now() - Date.parse(current.dataset.issuedAt);
      }
    }

    function expired() {
      var current = card();
      return !current || Date.now() - offset >= Date.parse(current.dataset.expiresAt);
    }

    function show() {
      var stale = failed || expired();
      live.classList.toggle("is-stale", stale);
      live.dataset.live = stale ? "false" : "true";
      banner.hidden = !stale;
    }

    function tick() {
      var clock = live.querySelector(".hc-clock");
      if (clock) {
        var now = format(clock.dataset.zone, new Date(Date.now() - offset));
        clock.querySelector(".hc-clock__date").textContent = now.date;
        clock.querySelector(".hc-clock__time").textContent = now.time;
      }
      show();
    }

    live.addEventListener("htmx:afterSwap", function () {
      failed = false;
      takeOffset();
      tick();
    });
    ["htmx:sendError", "htmx:responseError", "htmx:timeout"].forEach(function (name) {
      live.addEventListener(name, function (event) {
        failed = true;
        signedOut = Boolean(event.detail && event.detail.xhr && event.detail.xhr.status === 401);
        show();
      });
    });

    document.querySelectorAll("[data-refresh]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (window.htmx && !signedOut) {
          event.preventDefault();
          window.htmx.trigger(live, "refresh");
        }
      });
    });

    takeOffset();
    tick();
    window.setInterval(tick, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
