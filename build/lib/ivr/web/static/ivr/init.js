// Starts GOV.UK Frontend's components on every page (the service navigation's menu button,
// notification banners). Loaded as a module by templates/ivr/base.html: no inline script needed.
import { initAll } from "/assets/govuk-frontend.min.js";

initAll();
