// Starts GOV.UK Frontend's JavaScript components. Loaded as an ES module from
// the layout (templates/base.html); the site's CSP allows no inline script.
import { initAll } from './govuk-frontend.min.js'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')
initAll()
