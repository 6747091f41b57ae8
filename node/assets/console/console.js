// The Rightsnet console's only script: progressive enhancement. Every page works without it.
// It fills a textarea from a chosen file (the credential check), at most 64 KiB.
(function () {
  "use strict";
  var MAX_FILE_BYTES = 64 * 1024;
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    var inputs = document.querySelectorAll("input[type=file][data-fills]");
    Array.prototype.forEach.call(inputs, function (input) {
      input.addEventListener("change", function () {
        var target = document.getElementById(input.getAttribute("data-fills"));
        var file = input.files && input.files[0];
        if (!target || !file) {
          return;
        }
        if (file.size > MAX_FILE_BYTES) {
          input.setCustomValidity("the file is larger than 64 KiB");
          input.reportValidity();
          return;
        }
        input.setCustomValidity("");
        var reader = new FileReader();
        reader.onload = function () {
          target.value = String(reader.result);
        };
        reader.readAsText(file);
      });
    });
  });
})();
