// Starts Swagger UI on /docs from a file, so the page needs no inline script.
"use strict";
(function () {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: root.dataset.openapiUrl, domNode: root });
})();
