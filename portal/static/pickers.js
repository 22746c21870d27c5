// Google Drive and Dropbox pickers for the resume step. They only hand the
// server a file link (and, for Drive, a short-lived read token); the server
// fetches the file itself from allow-listed hosts.
(function () {
  "use strict";
  var box = document.querySelector(".import-buttons");
  if (!box) { return; }
  var importUrl = box.getAttribute("data-import-url");
  var csrf = box.getAttribute("data-csrf");

  function submit(source, url, token, name) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = importUrl;
    [["csrf_token", csrf], ["source", source], ["url", url], ["access_token", token || ""],
     ["name", name || ""]]
      .forEach(function (pair) {
        var input = document.createElement("input");
        input.type = "hidden"; input.name = pair[0]; input.value = pair[1];
        form.appendChild(input);
      });
    document.body.appendChild(form);
    form.submit();
  }

  function load(src, attrs, done) {
    var script = document.createElement("script");
    script.src = src;
    Object.keys(attrs).forEach(function (k) { script.setAttribute(k, attrs[k]); });
    script.onload = done;
    document.head.appendChild(script);
  }

  var dropbox = box.querySelector('[data-picker="dropbox"]');
  if (dropbox) {
    load("https://www.dropbox.com/static/api/2/dropins.js",
      { id: "dropboxjs", "data-app-key": dropbox.getAttribute("data-app-key") }, function () {
        dropbox.hidden = false;
        dropbox.addEventListener("click", function () {
          window.Dropbox.choose({
            linkType: "direct", multiselect: false, extensions: [".pdf", ".docx", ".txt"],
            success: function (files) { submit("dropbox", files[0].link, "", files[0].name); }
          });
        });
      });
  }

  var drive = box.querySelector('[data-picker="drive"]');
  if (drive) {
    var token = null;
    load("https://accounts.google.com/gsi/client", {}, function () {
      load("https://apis.google.com/js/api.js", {}, function () {
        window.gapi.load("picker", function () {
          drive.hidden = false;
          drive.addEventListener("click", function () {
            var client = window.google.accounts.oauth2.initTokenClient({
              client_id: drive.getAttribute("data-client-id"),
              scope: "https://www.googleapis.com/auth/drive.file",
              callback: function (response) {
                token = response.access_token;
                var view = new window.google.picker.DocsView()
                  .setMimeTypes("application/pdf,application/vnd.openxmlformats-officedocument.wordprocessingml.document,text/plain");
                new window.google.picker.PickerBuilder()
                  .addView(view).setOAuthToken(token)
                  .setDeveloperKey(drive.getAttribute("data-api-key"))
                  .setCallback(function (data) {
                    if (data.action !== window.google.picker.Action.PICKED) { return; }
                    var doc = data.docs[0];
                    submit("drive", "https://www.googleapis.com/drive/v3/files/" +
                      encodeURIComponent(doc.id) + "?alt=media", token, doc.name);
                  }).build().setVisible(true);
              }
            });
            client.requestAccessToken();
          });
        });
      });
    });
  }
})();
