// OpenIOP page behaviour. No inline handlers in templates: the Content-Security-Policy
// allows only scripts served from this origin.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print], [data-download]");
    if (!button) {
      return;
    }
    if (button.hasAttribute("data-print")) {
      window.print();
      return;
    }
    var source = document.querySelector(button.getAttribute("data-download"));
    if (!source) {
      return;
    }
    var lines = Array.prototype.map.call(source.querySelectorAll("li"), function (li) {
      return li.textContent.trim();
    });
    var blob = new Blob([lines.join("\n") + "\n"], { type: "text/plain" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = button.getAttribute("data-filename") || "download.txt";
    document.body.appendChild(link);
    link.click();
    link.remove();
    URL.revokeObjectURL(link.href);
  });
  document.addEventListener("focusin", function (event) {
    var el = event.target;
    if (el.matches && el.matches("input[data-select-on-focus]")) {
      el.select();
    }
  });
})();
// Roster rows answer 409 (changed by someone else) and 422 (bad input) with the row itself,
// showing the message and the current values; htmx swaps only 2xx unless told otherwise.
// The event fires on the swap target: the row, which carries data-swap-errors.
document.addEventListener("htmx:beforeSwap", function (event) {
  var status = event.detail.xhr.status;
  var target = event.detail.target;
  if ((status === 409 || status === 422) && target && target.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// --- Group note page (clinical/group_note.html) ---------------------------------------------
// Alt+<key> presses the element whose data-hotkey is that key's KeyboardEvent.code ("KeyN":
// next patient, "KeyP": previous). The field being typed in is blurred first: its change
// event autosaves it, and hx-sync queues the save before the next patient is fetched.
// Autosave forms carry data-swap-problems so a 403 (not the author) shows its message too.
document.addEventListener("keydown", function (event) {
  if (!event.altKey || event.ctrlKey || event.metaKey || !/^Key[A-Z]$/.test(event.code)) {
    return;
  }
  var target = document.querySelector('[data-hotkey="' + event.code + '"]');
  if (!target) {
    return;
  }
  event.preventDefault();
  var active = document.activeElement;
  if (active && active !== document.body && active.blur) {
    active.blur();
  }
  target.click();
});
document.addEventListener("htmx:beforeSwap", function (event) {
  var target = event.detail.target;
  if (event.detail.xhr.status === 403 && target && target.closest("[data-swap-problems]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
// A submit button may ask before it submits (data-confirm on the button, e.g. "Sign note"),
// where the form's other buttons (and its autosave) must not ask.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("button[data-confirm]");
  if (button && !window.confirm(button.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});
// A region marked data-guard-unsaved is replaced whole by each of its forms (the treatment-plan
// editor): before one form sends, ask when another form in the region holds typed text that
// the swap would throw away. The sending form's own text goes with the request.
function typedFields(region, except) {
  return Array.prototype.filter.call(
    region.querySelectorAll("input, textarea, select"),
    function (field) {
      if (except && except.contains(field)) {
        return false;
      }
      if (field.type === "hidden" || field.type === "submit" || field.type === "button") {
        return false;
      }
      if (field.type === "checkbox" || field.type === "radio") {
        return field.checked !== field.defaultChecked;
      }
      if (field.tagName === "SELECT") {
        return Array.prototype.some.call(field.options, function (option) {
          return option.selected !== option.defaultSelected;
        });
      }
      return field.value !== field.defaultValue;
    }
  );
}
document.addEventListener("htmx:confirm", function (event) {
  var elt = event.detail.elt;
  var region = elt && elt.closest && elt.closest("[data-guard-unsaved]");
  if (!region) {
    return;
  }
  var sending = elt.tagName === "FORM" ? elt : elt.closest("form");
  var typed = typedFields(region, sending);
  if (!typed.length) {
    return;
  }
  event.preventDefault();
  var label = typed[0].labels && typed[0].labels[0] ? typed[0].labels[0].textContent.trim() : "";
  var where = label ? " (" + label + ")" : "";
  if (window.confirm("You have typed text that is not saved yet" + where +
      ". Continue and lose it? Choose Cancel to go back and save it first.")) {
    event.detail.issueRequest();
  } else {
    typed[0].focus();
  }
});
