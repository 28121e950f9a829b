"""Seed the share message templates (SPEC §10): 22 in English and 22 in Russian, by platform and
tone. Figures sit in [optional parts], left out when the member's figure is zero or unknown.
Staff edit them in admin afterwards; reversing removes only rows that still read as seeded."""

from django.db import migrations

# (platform, tone, title, body); "" = any platform.
EN = [
    ("", "casual", "Quick invite",
     "Hey! I'm on P2PHub, a partner network where you earn XP and USDT for growing your network. Join me: {link}"),
    ("whatsapp", "casual", "WhatsApp hello",
     "Hi! {name} here 👋 I use P2PHub to earn from my referral network. [Partners who joined through me so far: "
     "{referrals}.] Want in? {link}"),
    ("sms", "casual", "Text a friend", "{name} here: join me on P2PHub, it's free to start. {link}"),
    ("linkedin", "professional", "Professional network",
     "I've joined P2PHub, a partner network with transparent multi-level referral rewards and USDT commission on "
     "PRO upgrades. [Partners who joined through me: {referrals}.] If you build networks professionally, take a "
     "look: {link}"),
    ("email", "professional", "Email invitation",
     "Hello,\n\nI'd like to invite you to P2PHub, a partner network where every signup earns XP and PRO upgrades pay "
     "USDT commission down nine levels. [Commission I have earned so far: {earnings}.]\n\nYou can join here: {link}"
     "\n\nBest regards,\n{name}"),
    ("", "professional", "Short and formal",
     "I'm inviting you to P2PHub, a referral partner network with clear rules and USDT payouts. Join through my "
     "link: {link}"),
    ("telegram", "excited", "Telegram hype",
     "🚀 I'm growing my network on P2PHub and loving it! [Earned so far: {earnings}!] Join me right inside "
     "Telegram: {link}"),
    ("x", "excited", "Post on X",
     "Growing my partner network on P2PHub 🚀 [Partners via my link: {referrals}!] Join me: {link}"),
    ("", "excited", "Big news",
     "Big news! 🎉 I've found a partner network that rewards you for every friend you bring. Come build yours "
     "with me: {link}"),
    ("facebook", "testimonial", "My experience",
     "I've been building my partner network with P2PHub. [So far I have earned {earnings} in commission.] "
     "[People who joined through me: {referrals}.] Every reward is tracked and paid by clear rules. See for "
     "yourself: {link}"),
    ("reddit", "testimonial", "Honest take",
     "My honest take on P2PHub: a referral partner network whose rewards follow published rules (XP for every "
     "signup, USDT commission on PRO upgrades, nine levels deep). [My own result so far: {earnings}.] Link if you "
     "want to try it: {link}"),
    ("", "testimonial", "Why I use it",
     "Why I use P2PHub: I earn XP when people join through me and USDT commission when my network upgrades to "
     "PRO. [Earned so far: {earnings}.] Join me: {link}"),
    ("whatsapp", "urgency", "Don't wait",
     "Don't put it off ⏳ The sooner you join P2PHub, the sooner your own network starts growing. Join through my "
     "link today: {link}"),
    ("sms", "urgency", "Today", "Join P2PHub today and start building your network: {link} ({name})"),
    ("", "urgency", "Start now",
     "Every day you wait is a day your network is not growing. Start on P2PHub now: {link}"),
    ("email", "value", "What you get",
     "Hi,\n\nHere is what P2PHub gives you: XP for every member who joins through you, down to nine levels, and 30% "
     "USDT commission when your direct referrals upgrade to PRO. [I have earned {earnings} this way.]\n\nJoin here: "
     "{link}\n\n{name}"),
    ("x", "value", "Value in one post",
     "P2PHub: XP for every signup in your network, USDT commission on PRO upgrades, 9 levels deep. Join me: {link}"),
    ("linkedin", "value", "Referral economics",
     "Most referral programmes pay one level. P2PHub rewards nine: XP for every signup in your network and USDT "
     "commission on every PRO upgrade. [My commission so far: {earnings}.] Join my network: {link}"),
    ("", "social_proof", "Growing community",
     "P2PHub keeps growing. [Members in the community: {community}.] [Partners who joined through me: "
     "{referrals}.] Join us: {link}"),
    ("telegram", "social_proof", "Join my network",
     "Join my P2PHub network! [Members in the community: {community}.] [Partners I have invited: {referrals}.] "
     "{link}"),
    ("facebook", "social_proof", "Community",
     "I'm part of the P2PHub partner community. [Members in the community: {community}.] Come and join us: {link}"),
    ("reddit", "social_proof", "For the curious",
     "For anyone curious about referral networks: P2PHub publishes its reward rules and tracks every payout. "
     "[Members in the community: {community}.] My invite link: {link}"),
]

RU = [
    ("", "casual", "Быстрое приглашение",
     "Привет! Я в P2PHub, партнёрской сети, где за рост своей сети получаешь XP и USDT. Присоединяйся: {link}"),
    ("whatsapp", "casual", "Привет в WhatsApp",
     "Привет! Это {name} 👋 Я зарабатываю в P2PHub на своей реферальной сети. [Уже присоединились по моей "
     "ссылке: {referrals}.] Хочешь с нами? {link}"),
    ("sms", "casual", "Сообщение другу", "Это {name}: присоединяйся ко мне в P2PHub, начать можно бесплатно. {link}"),
    ("linkedin", "professional", "Профессиональная сеть",
     "Я присоединился к P2PHub: партнёрская сеть с прозрачными многоуровневыми реферальными наградами и "
     "комиссией в USDT за переходы на PRO. [Партнёров, пришедших через меня: {referrals}.] Если вы "
     "профессионально строите сети, посмотрите: {link}"),
    ("email", "professional", "Приглашение по почте",
     "Здравствуйте!\n\nПриглашаю вас в P2PHub, партнёрскую сеть, где каждая регистрация приносит XP, а переходы на "
     "PRO приносят комиссию в USDT на девять уровней вниз. [Моя комиссия на сегодня: {earnings}.]\n\nПрисоединиться "
     "можно здесь: {link}\n\nС уважением,\n{name}"),
    ("", "professional", "Коротко и официально",
     "Приглашаю вас в P2PHub, реферальную партнёрскую сеть с понятными правилами и выплатами в USDT. "
     "Присоединяйтесь по моей ссылке: {link}"),
    ("telegram", "excited", "Огонь в Telegram",
     "🚀 Я развиваю свою сеть в P2PHub, и мне это очень нравится! [Уже заработано: {earnings}!] Присоединяйся "
     "прямо в Telegram: {link}"),
    ("x", "excited", "Пост в X",
     "Развиваю свою партнёрскую сеть в P2PHub 🚀 [Партнёров по моей ссылке: {referrals}!] Присоединяйся: {link}"),
    ("", "excited", "Отличная новость",
     "Отличная новость! 🎉 Я нашёл партнёрскую сеть, которая награждает за каждого приведённого друга. Давай "
     "строить сеть вместе: {link}"),
    ("facebook", "testimonial", "Мой опыт",
     "Я строю свою партнёрскую сеть в P2PHub. [На сегодня я заработал {earnings} комиссии.] [Присоединились "
     "через меня: {referrals}.] Каждая награда учитывается и выплачивается по понятным правилам. Убедись сам: "
     "{link}"),
    ("reddit", "testimonial", "Честный отзыв",
     "Мой честный отзыв о P2PHub: реферальная партнёрская сеть с опубликованными правилами наград (XP за каждую "
     "регистрацию, комиссия в USDT за переходы на PRO, девять уровней). [Мой результат на сегодня: {earnings}.] "
     "Ссылка, если хотите попробовать: {link}"),
    ("", "testimonial", "Почему я здесь",
     "Почему я в P2PHub: я получаю XP, когда люди приходят по моей ссылке, и комиссию в USDT, когда моя сеть "
     "переходит на PRO. [Заработано на сегодня: {earnings}.] Присоединяйся: {link}"),
    ("whatsapp", "urgency", "Не откладывай",
     "Не откладывай ⏳ Чем раньше ты присоединишься к P2PHub, тем раньше начнёт расти твоя сеть. Присоединяйся "
     "по моей ссылке сегодня: {link}"),
    ("sms", "urgency", "Сегодня", "Присоединяйся к P2PHub сегодня и начни строить свою сеть: {link} ({name})"),
    ("", "urgency", "Начни сейчас",
     "Каждый день ожидания — это день, когда твоя сеть не растёт. Начни в P2PHub прямо сейчас: {link}"),
    ("email", "value", "Что вы получаете",
     "Привет!\n\nВот что даёт P2PHub: XP за каждого, кто присоединится через тебя, на девять уровней вниз, и 30% "
     "комиссии в USDT, когда твои прямые рефералы переходят на PRO. [Я заработал так {earnings}.]\n\n"
     "Присоединиться: {link}\n\n{name}"),
    ("x", "value", "Суть в одном посте",
     "P2PHub: XP за каждую регистрацию в твоей сети, комиссия в USDT за переходы на PRO, 9 уровней. "
     "Присоединяйся: {link}"),
    ("linkedin", "value", "Экономика рефералов",
     "Большинство реферальных программ платят за один уровень. P2PHub награждает за девять: XP за каждую "
     "регистрацию в вашей сети и комиссия в USDT за каждый переход на PRO. [Моя комиссия на сегодня: "
     "{earnings}.] Присоединяйтесь к моей сети: {link}"),
    ("", "social_proof", "Растущее сообщество",
     "P2PHub продолжает расти. [Участников в сообществе: {community}.] [Присоединились через меня: "
     "{referrals}.] Присоединяйся: {link}"),
    ("telegram", "social_proof", "В мою сеть",
     "Присоединяйся к моей сети в P2PHub! [Участников в сообществе: {community}.] [Приглашено мной: "
     "{referrals}.] {link}"),
    ("facebook", "social_proof", "Сообщество",
     "Я в партнёрском сообществе P2PHub. [Участников в сообществе: {community}.] Присоединяйся к нам: {link}"),
    ("reddit", "social_proof", "Для любопытных",
     "Для всех, кому интересны реферальные сети: P2PHub публикует правила наград и учитывает каждую выплату. "
     "[Участников в сообществе: {community}.] Моя ссылка-приглашение: {link}"),
]


def seed(apps, schema_editor):
    ShareTemplate = apps.get_model("referrals", "ShareTemplate")
    rows = []
    for language, templates in (("en", EN), ("ru", RU)):
        for order, (platform, tone, title, body) in enumerate(templates, start=1):
            rows.append(
                ShareTemplate(
                    language=language, platform=platform, tone=tone, title=title, body=body, sort_order=order * 10
                )
            )
    ShareTemplate.objects.bulk_create(rows)


def unseed(apps, schema_editor):
    ShareTemplate = apps.get_model("referrals", "ShareTemplate")
    for language, templates in (("en", EN), ("ru", RU)):
        for _platform, _tone, title, body in templates:
            ShareTemplate.objects.filter(language=language, title=title, body=body).delete()


class Migration(migrations.Migration):
    dependencies = [("referrals", "0003_share_clicks_events_templates")]

    operations = [migrations.RunPython(seed, unseed)]
