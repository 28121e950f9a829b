/* P2PHub dashboard: small progressive enhancements in plain JavaScript (no library, no CDN).
   Every page works without it; with it: busy buttons, the payment countdown and auto-updating
   status, tree expansion in place, copy buttons on the Share page, and Telegram's theme colours,
   back button and link opening in the Mini App. */
(function () {
  "use strict";
  var body = document.body;

  // 1. Progress feedback: a submitted form's button shows "Working…" and cannot be pressed twice.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter || form.querySelector("button[type=submit]");
    if (!button || !button.hasAttribute("data-busy")) return;
    if (form.dataset.submitting) { event.preventDefault(); return; }
    form.dataset.submitting = "1";
    if (button.name) {  // keep the pressed button's value (e.g. method=TON) once it is disabled
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = button.name; hidden.value = button.value;
      form.appendChild(hidden);
    }
    button.setAttribute("aria-busy", "true");
    button.dataset.label = button.textContent;
    button.textContent = body.dataset.busyText || "…";
    setTimeout(function () { button.disabled = true; }, 0);
  });

  // The section tabs scroll sideways on narrow screens: keep the current one in view.
  var current = document.querySelector('.tabs [aria-current="page"]');
  if (current && current.scrollIntoView) current.scrollIntoView({block: "nearest", inline: "center"});

  // 2. Payment countdown and status.
  var countdown = document.getElementById("countdown");
  if (countdown) {
    var left = parseInt(countdown.dataset.seconds, 10) || 0;
    var tick = function () {
      if (left <= 0) { countdown.textContent = countdown.dataset.expiredText; return; }
      var m = Math.floor(left / 60), s = left % 60;
      countdown.textContent = m + ":" + (s < 10 ? "0" : "") + s;
      left -= 1;
      setTimeout(tick, 1000);
    };
    tick();
  }
  var payment = document.getElementById("payment");
  if (payment && payment.dataset.status === "pending") {
    var status = document.getElementById("payment-status");
    var poll = function () {
      fetch(payment.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (data) {
          if (data.status !== payment.dataset.status) { window.location.reload(); return; }
          setTimeout(poll, 5000);
        })
        .catch(function () { setTimeout(poll, 15000); });
    };
    setTimeout(poll, 5000);
    if (status) status.dataset.live = "1";
  }

  // 3. Tree explorer: expand a member in place (the link still works without JavaScript).
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a.expand[data-fragment]");
    if (!link) return;
    event.preventDefault();
    var item = link.closest("li");
    var open = item.querySelector(":scope > .tree-children");
    if (open) {
      open.hidden = !open.hidden;
      link.setAttribute("aria-expanded", open.hidden ? "false" : "true");
      return;
    }
    link.setAttribute("aria-busy", "true");
    fetch(link.dataset.fragment, {credentials: "same-origin"})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var box = document.createElement("div");
        box.className = "tree-children";
        box.innerHTML = html;
        item.appendChild(box);
        link.setAttribute("aria-expanded", "true");
      })
      .catch(function () {
        var p = document.createElement("p");
        p.className = "error"; p.setAttribute("role", "alert");
        p.textContent = body.dataset.errorText;
        item.appendChild(p);
      })
      .finally(function () { link.removeAttribute("aria-busy"); });
  });

  // 4. Share page: copy buttons (Clipboard API, else the old copy command, else the text is left
  //    selected for the member to copy), and share buttons inside Telegram, whose web view opens
  //    links through the WebApp API: the share is recorded in the background, as the form would.
  var copyStatus = document.getElementById("copy-status");
  document.querySelectorAll("button[data-copy]").forEach(function (b) { b.hidden = false; });
  var selectField = function (field) {
    field.focus();
    field.select();
    if (field.setSelectionRange) field.setSelectionRange(0, field.value.length);
  };
  var legacyCopy = function (field) {
    selectField(field);
    try { return document.execCommand("copy"); } catch (e) { return false; }
  };
  var copied = function (button, ok) {
    var say = ok ? copyStatus.dataset.copiedText : copyStatus.dataset.copyFailedText;
    copyStatus.textContent = say;
    if (!ok) return;
    if (!button.dataset.label) button.dataset.label = button.innerHTML;
    button.classList.add("copied");
    button.textContent = say;
    clearTimeout(button._copyTimer);
    button._copyTimer = setTimeout(function () {
      button.innerHTML = button.dataset.label;
      button.classList.remove("copied");
      copyStatus.textContent = "";
    }, 2000);
  };
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    var field = document.getElementById(button.dataset.copy);
    if (!field) return;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value)
        .then(function () { copied(button, true); })
        .catch(function () { copied(button, legacyCopy(field)); });
    } else {
      copied(button, legacyCopy(field));
    }
  });
  document.querySelectorAll(".copy-row input[readonly]").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });

  // 5. Inside Telegram: theme colours (telegram-web-app.js sets --tg-theme-* variables, which the
  //    stylesheet uses) and the back button on every page but Home.
  var tg = window.Telegram && window.Telegram.WebApp;
  if (tg && tg.initData !== undefined) {
    tg.ready();
    tg.expand();
    var home = body.dataset.homeUrl;
    if (tg.BackButton) {
      if (window.location.pathname !== home) {
        tg.BackButton.show();
        tg.BackButton.onClick(function () {
          if (window.history.length > 1) window.history.back(); else window.location.href = home;
        });
      } else {
        tg.BackButton.hide();
      }
    }
    if (tg.colorScheme === "dark") document.documentElement.classList.add("dark");
    document.addEventListener("submit", function (event) {
      var form = event.target, url = form.dataset.shareUrl;
      if (!url || !/^https:/.test(url) || !tg.openLink) return;
      event.preventDefault();
      fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin", redirect: "manual"})
        .catch(function () {});
      if (/^https:\/\/t\.me\//.test(url) && tg.openTelegramLink) tg.openTelegramLink(url); else tg.openLink(url);
    });
  }
})();
