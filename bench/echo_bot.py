"""A bare echo bot on the same framework and transport as Chung Tay, for the replay bench.

`python bench/echo_bot.py ptb|ptb-httpx|aiogram` with BOT_TOKEN and BOT_API_BASE_URL set.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import event_loop  # the bot's own loop, so that the comparison is like for like


async def ptb(httpx: bool) -> None:
    from telegram import Update
    from telegram.ext import Application, ContextTypes, TypeHandler

    from bot.channels.ptb_bot import AiohttpRequest

    base = os.environ["BOT_API_BASE_URL"].rstrip("/")
    builder = Application.builder().token(os.environ["BOT_TOKEN"]).base_url(f"{base}/bot").concurrent_updates(256)
    if not httpx:
        builder = builder.request(AiohttpRequest(pool_size=256)).get_updates_request(AiohttpRequest(pool_size=2, read_timeout=40))
    else:
        builder = builder.connection_pool_size(256)
    application = builder.update_queue(asyncio.Queue(maxsize=256)).build()

    async def echo(update: object, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update) and update.message and update.message.text:
            await update.get_bot().send_message(update.message.chat_id, update.message.text)
        elif isinstance(update, Update) and update.callback_query:
            await update.get_bot().send_message(update.callback_query.from_user.id, update.callback_query.data or "?")

    application.add_handler(TypeHandler(Update, echo))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with application:
        await application.start()
        await application.updater.start_polling(timeout=30)
        await stop.wait()
        await application.updater.stop()
        await application.stop()


async def aiogram_echo() -> None:
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["BOT_API_BASE_URL"].rstrip("/")), limit=256)
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await bot.send_message(message.chat.id, message.text or "?")

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False, tasks_concurrency_limit=256, polling_timeout=30))
    await stop.wait()
    await dispatcher.stop_polling()
    await polling


if __name__ == "__main__":
    kind = sys.argv[1]
    event_loop.run(aiogram_echo() if kind == "aiogram" else ptb(httpx=kind == "ptb-httpx"))
