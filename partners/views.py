from django.conf import settings
from django.shortcuts import render


def landing(request):
    """The public landing page (referral links and signed-out visitors arrive here)."""
    return render(request, "landing.html", {"bot_link": f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}"})
