// Site-wide behaviour that needs JavaScript; every page works without it.
document.documentElement.classList.add("js");
