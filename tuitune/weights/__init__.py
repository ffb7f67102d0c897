"""Worker layer, shared by train, export and chat: load, merge and save model weights (torch)."""
