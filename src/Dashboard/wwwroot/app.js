// Behaviour that plain HTML needs without inline handlers, which the Content-Security-Policy forbids.
document.addEventListener('click', event => {
    if (event.target.closest('[data-print]')) {
        window.print();
    }
});
