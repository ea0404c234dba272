// The composer (templates/posts/compose.html). Ticking a platform shows its variant and option panel; the thread
// builder adds, removes and reorders parts; media is uploaded by drag and drop, the file picker or an address, then
// reordered or removed. The live checks themselves are htmx (POST /posts/checks): this file only tells htmx when
// something changed that is not an input event ("composer:changed" on <body>).
(function () {
  "use strict";

  var form = document.getElementById("compose-form");
  if (!form) {
    return;
  }

  function changed() {
    document.body.dispatchEvent(new CustomEvent("composer:changed"));
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function platformBoxes() {
    return Array.prototype.slice.call(form.querySelectorAll('input[name="platforms"]'));
  }

  function chosen() {
    return platformBoxes().filter(function (box) { return box.checked; });
  }

  function sentence(names) {
    if (names.length <= 1) {
      return names.join("");
    }
    return names.slice(0, -1).join(", ") + " and " + names[names.length - 1];
  }

  // -- platforms: show what belongs to the ticked ones ---------------------------------------------------------

  function refreshPlatforms() {
    var names = chosen().map(function (box) { return box.value; });
    form.querySelectorAll("[data-for-platform]").forEach(function (element) {
      element.hidden = names.indexOf(element.getAttribute("data-for-platform")) === -1;
    });
    var variants = form.querySelector("[data-variants]");
    if (variants) {
      variants.hidden = names.length === 0;
    }
    var empty = form.querySelector("[data-options-empty]");
    if (empty) {
      empty.hidden = form.querySelector(".option-panel:not([hidden])") !== null;
    }
    refreshThread();
  }

  // -- the thread builder ---------------------------------------------------------------------------------------

  var builder = form.querySelector("[data-thread-builder]");
  var partsList = form.querySelector("[data-thread-parts]");
  var mainText = form.querySelector('textarea[name="content"]');
  var partTemplate = document.getElementById("thread-part-template");

  function parts() {
    return partsList ? Array.prototype.slice.call(partsList.querySelectorAll("[data-thread-part]")) : [];
  }

  function refreshThread() {
    if (!builder) {
      return;
    }
    var all = parts();
    all.forEach(function (part, index) {
      var number = index + 2;
      part.querySelector("[data-part-number]").textContent = String(number);
      part.querySelector("textarea").setAttribute("aria-label", "Thread part " + number);
    });
    var isThread = all.length > 0;
    builder.classList.toggle("is-thread", isThread);
    var single = form.querySelector("[data-label-single]");
    var thread = form.querySelector("[data-label-thread]");
    if (single && thread) {
      single.hidden = isThread;
      thread.hidden = !isThread;
    }
    var boxes = chosen();
    var takes = boxes.filter(function (box) { return box.getAttribute("data-threads") === "1"; })
      .map(function (box) { return box.getAttribute("data-display-name"); });
    var refuses = boxes.filter(function (box) { return box.getAttribute("data-threads") !== "1"; })
      .map(function (box) { return box.getAttribute("data-display-name"); });
    var offer = form.querySelector("[data-thread-offer]");
    var note = form.querySelector("[data-thread-note]");
    var addLabel = form.querySelector("[data-thread-add-label]");
    if (offer) {
      offer.hidden = takes.length === 0 && !isThread;
    }
    if (addLabel) {
      addLabel.textContent = isThread ? "Add another part" : "Make it a thread";
    }
    if (note) {
      var text = "";
      if (isThread && takes.length === 0) {
        text = "None of the chosen platforms takes threads: remove the extra parts, or tick X, Bluesky, Threads or Mastodon.";
      } else if (refuses.length && (isThread || takes.length)) {
        text = (isThread ? "Published as a thread on " + sentence(takes) + ". " : "Threads publish on " + sentence(takes) + ". ") +
          sentence(refuses) + (refuses.length === 1 ? " takes" : " take") + " a single post only" +
          (isThread ? ": untick " + (refuses.length === 1 ? "it" : "them") + " or keep this to one part." : ".");
      } else if (takes.length) {
        text = isThread ? "Published as a thread on " + sentence(takes) + "." : "Each part is posted as a reply to the one before.";
      }
      note.textContent = text;
      note.classList.toggle("thread-note-warning", isThread && (refuses.length > 0 || takes.length === 0));
    }
  }

  function addPart() {
    if (!partTemplate || !partsList) {
      return;
    }
    var fragment = partTemplate.content.cloneNode(true);
    partsList.appendChild(fragment);
    refreshThread();
    var added = parts();
    added[added.length - 1].querySelector("textarea").focus();
    changed();
  }

  function movePart(part, direction) {
    var textarea = part.querySelector("textarea");
    if (direction === "up") {
      var before = part.previousElementSibling;
      if (before) {
        partsList.insertBefore(part, before);
      } else if (mainText) {
        // The first extra part moves above part 1, which is the post's own text: swap the two texts.
        var text = mainText.value;
        mainText.value = textarea.value;
        textarea.value = text;
      }
    } else {
      var after = part.nextElementSibling;
      if (after) {
        partsList.insertBefore(after, part);
      }
    }
    refreshThread();
    changed();
  }

  // -- media -----------------------------------------------------------------------------------------------------

  var mediaList = form.querySelector("[data-media-list]");
  var mediaInput = form.querySelector("[data-media-input]");
  var dropZone = form.querySelector("[data-media-drop]");
  var messages = form.querySelector("[data-media-messages]");
  var urlInput = form.querySelector("[data-media-url-input]");

  function decorate(item) {
    if (item.querySelector(".media-tools")) {
      return;
    }
    var tools = document.createElement("div");
    tools.className = "media-tools";
    [["up", "arrow-up", "Move earlier"], ["down", "arrow-down", "Move later"], ["remove", "trash", "Remove"]]
      .forEach(function (spec) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "btn btn-icon-sm" + (spec[0] === "remove" ? " btn-icon-danger" : "");
        button.setAttribute("data-media-action", spec[0]);
        button.setAttribute("aria-label", spec[2]);
        button.title = spec[2];
        var icon = document.createElement("i");
        icon.className = "bi bi-" + spec[1];
        icon.setAttribute("aria-hidden", "true");
        button.appendChild(icon);
        tools.appendChild(button);
      });
    var row = item.querySelector(".d-flex") || item;
    row.appendChild(tools);
  }

  function refreshMedia() {
    if (!mediaList) {
      return;
    }
    var items = mediaList.querySelectorAll(".media-item");
    items.forEach(function (item, index) {
      decorate(item);
      item.classList.toggle("is-first", index === 0);
    });
    var count = form.querySelector("[data-media-count]");
    if (count) {
      count.textContent = items.length ? items.length + (items.length === 1 ? " item" : " items") : "";
    }
  }

  function showMessage(html) {
    if (!messages) {
      return;
    }
    var wrapper = document.createElement("div");
    wrapper.className = "media-message";
    wrapper.innerHTML = html;  // a server-rendered fragment (templates/media/_error.html), escaped there
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close btn-sm";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", function () { wrapper.remove(); });
    wrapper.appendChild(close);
    messages.appendChild(wrapper);
  }

  function placeholder(label) {
    var slot = document.createElement("div");
    slot.className = "media-item media-uploading card";
    var row = document.createElement("div");
    row.className = "d-flex gap-3 p-2 align-items-center";
    var spinner = document.createElement("span");
    spinner.className = "spinner-border spinner-border-sm text-secondary";
    spinner.setAttribute("role", "status");
    var text = document.createElement("span");
    text.className = "small text-body-secondary text-truncate";
    text.textContent = "Adding " + label + "…";
    row.appendChild(spinner);
    row.appendChild(text);
    slot.appendChild(row);
    mediaList.appendChild(slot);
    return slot;
  }

  function send(url, body, label) {
    var slot = placeholder(label);
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "text/html" }
    }).then(function (response) {
      return response.text().then(function (html) {
        if (response.ok) {
          slot.insertAdjacentHTML("afterend", html);
        } else if (response.status === 422) {
          showMessage(html);
        } else if (response.status === 413) {
          showMessage('<div class="alert alert-danger small mb-0">' +
            "That file is larger than Stella can receive in one upload.</div>");
        } else {
          showMessage('<div class="alert alert-danger small mb-0">The file could not be added. Try again.</div>');
        }
      });
    }).catch(function () {
      showMessage('<div class="alert alert-danger small mb-0">Stella could not be reached. Check the connection and try again.</div>');
    }).then(function () {
      slot.remove();
      refreshMedia();
      changed();
    });
  }

  function upload(files) {
    var url = form.getAttribute("data-upload-url");
    // One at a time, in the order chosen: that order is the post's order.
    Array.prototype.slice.call(files).reduce(function (previous, file) {
      return previous.then(function () {
        var body = new FormData();
        body.append("file", file, file.name);
        return send(url, body, file.name);
      });
    }, Promise.resolve());
  }

  function addByAddress() {
    var address = urlInput ? urlInput.value.trim() : "";
    if (!address) {
      if (urlInput) {
        urlInput.focus();
      }
      return;
    }
    var body = new FormData();
    body.append("url", address);
    send(form.getAttribute("data-from-url"), body, address).then(function () {
      urlInput.value = "";
    });
  }

  if (dropZone) {
    ["dragenter", "dragover"].forEach(function (name) {
      dropZone.addEventListener(name, function (event) {
        event.preventDefault();
        dropZone.classList.add("is-over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      dropZone.addEventListener(name, function (event) {
        event.preventDefault();
        dropZone.classList.remove("is-over");
      });
    });
    dropZone.addEventListener("drop", function (event) {
      if (event.dataTransfer && event.dataTransfer.files.length) {
        upload(event.dataTransfer.files);
      }
    });
  }
  if (mediaInput) {
    mediaInput.addEventListener("change", function () {
      if (mediaInput.files && mediaInput.files.length) {
        upload(mediaInput.files);
      }
      mediaInput.value = "";
    });
  }
  if (urlInput) {
    urlInput.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();  // not the composer's own submit (Save draft)
        addByAddress();
      }
    });
  }

  // -- options that depend on another option ---------------------------------------------------------------------

  function optionValue(key) {
    var inputs = form.querySelectorAll('[data-option="' + key + '"]');
    var value = "";
    inputs.forEach(function (input) {
      if (input.type === "radio") {
        if (input.checked) {
          value = input.value;
        }
      } else if (input.type === "checkbox") {
        value = input.checked ? "on" : "";
      } else {
        value = input.value;
      }
    });
    return value;
  }

  function refreshOptions() {
    form.querySelectorAll("[data-show-if]").forEach(function (element) {
      var values = (element.getAttribute("data-show-values") || "").split(" ");
      element.hidden = values.indexOf(optionValue(element.getAttribute("data-show-if"))) === -1;
    });
  }

  // -- events ------------------------------------------------------------------------------------------------------

  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target.name === "platforms") {
      refreshPlatforms();
    }
    if (target.hasAttribute && target.hasAttribute("data-option")) {
      refreshOptions();
    }
  });

  form.addEventListener("input", function (event) {
    var target = event.target;
    if (target.hasAttribute && target.hasAttribute("data-variant")) {
      var badge = target.closest("details").querySelector("[data-variant-badge]");
      if (badge) {
        badge.hidden = target.value.trim() === "";
      }
    }
  });

  form.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) {
      return;
    }
    if (target.closest("[data-thread-add]")) {
      addPart();
      return;
    }
    var move = target.closest("[data-part-move]");
    if (move) {
      movePart(move.closest("[data-thread-part]"), move.getAttribute("data-part-move"));
      return;
    }
    var remove = target.closest("[data-part-remove]");
    if (remove) {
      remove.closest("[data-thread-part]").remove();
      refreshThread();
      changed();
      return;
    }
    var clear = target.closest("[data-variant-clear]");
    if (clear) {
      var details = clear.closest("details");
      var textarea = details.querySelector("textarea");
      textarea.value = "";
      details.open = false;
      var badge = details.querySelector("[data-variant-badge]");
      if (badge) {
        badge.hidden = true;
      }
      changed();
      return;
    }
    if (target.closest("[data-media-pick]")) {
      mediaInput.click();
      return;
    }
    if (target.closest("[data-media-url-add]")) {
      addByAddress();
      return;
    }
    var action = target.closest("[data-media-action]");
    if (action) {
      var item = action.closest(".media-item");
      var what = action.getAttribute("data-media-action");
      if (what === "remove") {
        item.remove();
      } else if (what === "up" && item.previousElementSibling) {
        mediaList.insertBefore(item, item.previousElementSibling);
      } else if (what === "down" && item.nextElementSibling) {
        mediaList.insertBefore(item.nextElementSibling, item);
      }
      refreshMedia();
      changed();
    }
  });

  // Once sent, the buttons wait: a second click would save twice. (Disabled after the submit event, so the clicked
  // button's own name and value are still sent.)
  form.addEventListener("submit", function () {
    window.setTimeout(function () {
      form.querySelectorAll('button[type="submit"]').forEach(function (button) { button.disabled = true; });
    }, 0);
  });
  window.addEventListener("pageshow", function () {
    form.querySelectorAll('button[type="submit"]').forEach(function (button) { button.disabled = false; });
  });

  // The owner changed: htmx swapped in their accounts and panels.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "platform-picker") {
      refreshPlatforms();
      refreshOptions();
      changed();
    }
  });

  refreshPlatforms();
  refreshOptions();
  refreshMedia();
})();
