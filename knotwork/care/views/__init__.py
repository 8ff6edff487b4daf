"""Care pages: episodes and plans, the visit screen, live feedback, aftercare and home programs."""
