# fs/: see PRODUCT.md; filled in by its issue.
include %reldir%/cache.mk
