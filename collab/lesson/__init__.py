"""The lesson's maths written out: losses, the spreadsheet, multi-target heads and entity embeddings."""
