/* /app/: trade Telegram.WebApp.initData for a dashboard session, then open the dashboard. */
(function () {
  "use strict";
  var box = document.getElementById("miniapp");
  var statusLine = document.getElementById("miniapp-status");
  var actions = document.getElementById("miniapp-actions");
  var tg = window.Telegram && window.Telegram.WebApp;

  function fail(text) {
    statusLine.textContent = text;
    statusLine.className = "error";
    actions.hidden = false;
  }

  function signIn() {
    if (!tg || !tg.initData) { fail(box.dataset.outsideText); return; }
    tg.ready();
    tg.expand();
    actions.hidden = true;
    var body = new URLSearchParams();
    body.set("init_data", tg.initData);
    fetch(box.dataset.signInUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {"X-CSRFToken": box.dataset.csrf, "Content-Type": "application/x-www-form-urlencoded"},
      body: body.toString()
    }).then(function (response) {
      if (response.status === 204) { window.location.replace(box.dataset.dashboardUrl); return; }
      return response.json().then(function (data) { fail((data && data.detail) || box.dataset.failedText); },
                                  function () { fail(box.dataset.failedText); });
    }).catch(function () { fail(box.dataset.networkText); });
  }

  document.getElementById("miniapp-retry").addEventListener("click", signIn);
  signIn();
})();
