/* Page behaviour without inline handlers (the Content-Security-Policy allows no inline code):
   forms with data-confirm ask first; buttons with data-print print the page. */
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
  // Date inputs of our forms (app/views/display.py): dd/mm/yyyy with FAB's date picker.
  document.addEventListener("DOMContentLoaded", function () {
    var $ = window.jQuery;
    if ($ && $.fn && $.fn.datepicker) {
      $(".asxh_date").datepicker({format: "dd/mm/yyyy", autoclose: true, todayHighlight: true});
    }
  });
})();
