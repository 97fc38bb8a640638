/* Page behaviour without inline handlers (the Content-Security-Policy allows no inline code):
   forms with data-confirm ask first; buttons with data-print print the page;
   Vietnamese file inputs; filter boxes above long select boxes; no browser validation bubbles. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest && event.target.closest("[data-print]");
    if (button) {
      event.preventDefault();
      window.print();
    }
  });
  // File inputs (app/templates/macros/file_input.html): a Vietnamese button and the chosen file's name instead of
  // the browser's control, which speaks the browser's language; without this script the plain input stays.
  function showFileName(input) {
    var name = input.parentNode.querySelector(".asxh-file-name");
    if (name) {
      name.textContent = input.files && input.files.length ? input.files[0].name : name.getAttribute("data-empty");
    }
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input && input.classList && input.classList.contains("asxh-file-input")) {
      showFileName(input);
    }
  });
  // Select boxes with a filter box above them (app/views/unit_field.py): hide the options (and empty groups) whose
  // text does not contain the typed words, accents ignored.
  function fold(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();
  }
  document.addEventListener("input", function (event) {
    var box = event.target;
    var id = box && box.getAttribute && box.getAttribute("data-filter-select");
    var select = id && document.getElementById(id);
    if (!select) {
      return;
    }
    var words = fold(box.value).split(/\s+/).filter(Boolean);
    Array.prototype.forEach.call(select.options, function (option) {
      var text = fold(option.text);
      option.hidden = !words.every(function (word) { return text.indexOf(word) >= 0; });
    });
    Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
      group.hidden = !group.querySelector("option:not([hidden])");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target && event.target.getAttribute && event.target.getAttribute("data-filter-select")) {
      event.preventDefault(); // Enter in the filter box does not submit the form
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-file-input]"), function (widget) {
      widget.classList.add("asxh-file-ready");
      Array.prototype.forEach.call(widget.querySelectorAll("[hidden]"), function (part) {
        part.hidden = false;
      });
      var input = widget.querySelector(".asxh-file-input");
      if (input) {
        showFileName(input);
      }
    });
  });
  // Date inputs of our forms (app/views/display.py): dd/mm/yyyy with FAB's date picker.
  document.addEventListener("DOMContentLoaded", function () {
    var $ = window.jQuery;
    if ($ && $.fn && $.fn.datepicker) {
      $(".asxh_date").datepicker({format: "dd/mm/yyyy", autoclose: true, todayHighlight: true});
    }
  });
  // Every form leaves the checking to the server, which answers in Vietnamese next to the field: the browser's
  // own bubbles ("Please fill out this field") speak the browser's language, not the officer's.
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.forms, function (form) {
      form.noValidate = true;
    });
  });
})();
