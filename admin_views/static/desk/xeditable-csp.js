/* Complaint desk: x-editable (in-place editing in lists) parses its data- options with
 * new Function(), which the Content-Security-Policy forbids (no 'unsafe-eval'). The options
 * Flask-Admin writes are JSON, so JSON.parse reads them. Loaded right after x-editable
 * (templates/admin/lib.html, form_js). */
(function ($) {
    'use strict';
    if (!$ || !$.fn.editableutils) {
        return;
    }
    $.fn.editableutils.tryParseJson = function (value, safe) {
        if (typeof value === 'string' && value.length && /^[\{\[].*[\}\]]$/.test(value)) {
            try {
                return JSON.parse(value);
            } catch (err) {
                if (!safe) {
                    throw err;
                }
            }
        }
        return value;
    };
})(window.jQuery);
