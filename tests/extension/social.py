# ruff: noqa: E501 -- site markup reads best one element per line, as the sites write it
"""Local copies of how the sites people share deepfakes on wrap a `blob:` video in a post: the
elements, attributes and links each site puts around its player (trimmed to what matters),
two posts per feed so that the wrong post's link is always near. Served by tests/extension/site.py
under /<site>/...; `target` is the video a user right-clicks, `permalink` the post it belongs to.
"""

from dataclasses import dataclass

# Every page: each <video> (also inside shadow roots) plays the clip from its own blob: URL.
BLOB_SCRIPT = """<script>
fetch("/clip.mp4?run=social").then(r => r.blob()).then(blob => {
  const all = (root) => [...root.querySelectorAll("video"),
    ...[...root.querySelectorAll("*")].filter(e => e.shadowRoot).flatMap(e => all(e.shadowRoot))];
  // Each player makes its own blob: URL, as the sites' players do.
  for (const video of all(document)) video.src = URL.createObjectURL(blob);
  document.body.dataset.ready = "1";
});
</script>"""

STYLE = "<style>video{width:360px;height:240px;display:block}</style>"

YOUTUBE = """<!doctype html><title>Clip - YouTube</title>
<link rel="canonical" href="/youtube/watch?v=dQw4w9WgXcQ">
<ytd-app><div id="content"><ytd-page-manager><ytd-watch-flexy>
<div id="columns" style="display:flex">
 <div id="primary"><div id="player"><div id="movie_player" class="html5-video-player">
  <div class="html5-video-container">
   <video class="video-stream html5-main-video" id="target"></video></div>
  <div class="ytp-chrome-bottom"><a class="ytp-youtube-button" href="/youtube/watch?v=dQw4w9WgXcQ"></a></div>
 </div></div>
 <div id="below"><h1><yt-formatted-string>Clip</yt-formatted-string></h1>
  <a href="/youtube/@channel">Channel</a></div></div>
 <div id="secondary" style="width:300px">
  <ytd-compact-video-renderer><a id="thumbnail" href="/youtube/watch?v=rec00000001">
   <img alt="" width="168" height="94"></a>
   <a id="video-title" href="/youtube/watch?v=rec00000001">Recommended one</a></ytd-compact-video-renderer>
  <ytd-compact-video-renderer><a id="thumbnail" href="/youtube/watch?v=rec00000002">
   <img alt="" width="168" height="94"></a>
   <a id="video-title" href="/youtube/watch?v=rec00000002">Recommended two</a></ytd-compact-video-renderer>
 </div></div>
</ytd-watch-flexy></ytd-page-manager></div></ytd-app>"""

X = """<!doctype html><title>Home / X</title>
<main role="main"><div aria-label="Timeline: Your Home Timeline"><div>
%s
</div></div></main>"""
X_POST = """<div data-testid="cellInnerDiv"><article data-testid="tweet" role="article" tabindex="0">
 <div data-testid="User-Name"><a href="/x/%(user)s" role="link"><span>%(user)s</span></a>
  <a href="/x/%(user)s/status/%(id)s" role="link"><time datetime="2026-12-06T10:00:00.000Z">1h</time></a></div>
 <div data-testid="tweetText"><span>watch this</span></div>
 <div data-testid="videoComponent"><div data-testid="videoPlayer"><div>
  <video preload="auto" playsinline %(attr)s></video></div></div></div>
 <div role="group"><a href="/x/%(user)s/status/%(id)s/analytics">Views</a></div>
</article></div>"""

TIKTOK = """<!doctype html><title>TikTok - Make Your Day</title>
<div id="main-content-homepage_hot"><div data-e2e="recommend-list-container">
%s
</div></div>"""
TIKTOK_POST = """<div data-e2e="recommend-list-item-container" class="css-item">
 <div class="css-author"><a href="/tiktok/@%(user)s" data-e2e="video-author-avatar">@%(user)s</a></div>
 <div data-e2e="video-desc"><span>so real</span></div>
 <div class="css-video-card"><a href="/tiktok/@%(user)s/video/%(id)s" tabindex="-1">
  <div data-e2e="feed-video"><div class="tiktok-web-player"><video playsinline %(attr)s></video></div></div>
 </a></div>
</div>"""

INSTAGRAM = """<!doctype html><title>Instagram</title>
<main role="main"><div><div>
%s
</div></div></main>"""
INSTAGRAM_POST = """<article role="presentation"><div>
 <div><a href="/instagram/%(user)s/" role="link">%(user)s</a> •
  <a href="/instagram/p/%(id)s/" role="link"><span><time datetime="2026-12-06T10:00:00.000Z">2h</time></span></a></div>
 <div><div role="presentation"><div><div>
  <video playsinline preload="none" type="video/mp4" %(attr)s></video></div></div></div></div>
 <section><a href="/instagram/p/%(id)s/liked_by/">likes</a></section>
</div></article>"""

FACEBOOK = """<!doctype html><title>Facebook</title>
<div role="main"><div role="feed">
%s
</div></div>"""
FACEBOOK_POST = """<div aria-posinset="%(n)s" aria-describedby="d%(n)s" role="article" aria-labelledby="t%(n)s">
 <div><h4 id="t%(n)s"><a href="/facebook/%(user)s" role="link">%(user)s</a></h4>
  <span><a href="/facebook/%(user)s/videos/%(id)s/" role="link" aria-label="2 h">2 h</a></span></div>
 <div id="d%(n)s">watch</div>
 <div data-pagelet="video"><div data-instancekey="id-vpuid"><video %(attr)s></video></div></div>
 <div role="button">Like</div>
</div>"""

REDDIT = """<!doctype html><title>Reddit - Dive into anything</title>
<shreddit-feed>
%s
</shreddit-feed>
<script>
// Reddit's player keeps its <video> in a shadow root.
for (const player of document.querySelectorAll("shreddit-player-2")) {
  const root = player.attachShadow({mode: "open"});
  const video = document.createElement("video");
  if (player.dataset.target) video.id = "target";
  root.append(video);
}
</script>"""
REDDIT_POST = """<article aria-label="%(id)s">
 <shreddit-post permalink="/reddit/r/videos/comments/%(id)s/a_clip/" post-type="video">
  <a slot="full-post-link" href="/reddit/r/videos/comments/%(id)s/a_clip/"></a>
  <a slot="title" href="/reddit/r/videos/comments/%(id)s/a_clip/">A clip</a>
  <shreddit-player-2 %(attr)s style="display:block;width:360px;height:240px"></shreddit-player-2>
  <a slot="comment-count" href="/reddit/r/videos/comments/%(id)s/a_clip/#comments">12</a>
 </shreddit-post></article>"""


def feed(page: str, post: str, posts: list[dict]) -> str:
    """Two posts; the second one's video is the target (the first's link is nearest above)."""
    body = "\n".join(
        post % {**p, "n": n, "attr": 'id="target"' if n == len(posts) else ""}
        for n, p in enumerate(posts, 1)
    )
    return page % body


def reddit() -> str:
    posts = [{"id": "1abc001"}, {"id": "1abc002"}]
    body = "\n".join(
        REDDIT_POST % {**p, "attr": 'data-target="1"' if n == 2 else ""}
        for n, p in enumerate(posts, 1)
    )
    return REDDIT % body


@dataclass(frozen=True)
class SocialPage:
    path: str  # where the site serves the page
    html: str
    permalink: str  # the post of the target video, as the server should receive it


TWO = [
    {"user": "first_user", "id": "1830000000000000001"},
    {"user": "second_user", "id": "1830000000000000002"},
]
PAGES = {
    "youtube": SocialPage("/youtube/watch?v=dQw4w9WgXcQ", YOUTUBE, "/youtube/watch?v=dQw4w9WgXcQ"),
    "x": SocialPage("/x/home", feed(X, X_POST, TWO), "/x/second_user/status/1830000000000000002"),
    "tiktok": SocialPage(
        "/tiktok/foryou",
        feed(TIKTOK, TIKTOK_POST, TWO),
        "/tiktok/@second_user/video/1830000000000000002",
    ),
    "instagram": SocialPage(
        "/instagram/",
        feed(
            INSTAGRAM,
            INSTAGRAM_POST,
            [{"user": "a.user", "id": "C1aAaAaAaA1"}, {"user": "b.user", "id": "C2bBbBbBbB2"}],
        ),
        "/instagram/p/C2bBbBbBbB2/",
    ),
    "facebook": SocialPage(
        "/facebook/",
        feed(FACEBOOK, FACEBOOK_POST, TWO),
        "/facebook/second_user/videos/1830000000000000002/",
    ),
    "reddit": SocialPage("/reddit/", reddit(), "/reddit/r/videos/comments/1abc002/a_clip/"),
}


def page_for(path: str) -> str | None:
    """The HTML served at `path` (query string included), or None."""
    for page in PAGES.values():
        if page.path == path:
            return page.html.replace("</title>", "</title>" + STYLE, 1) + BLOB_SCRIPT
    return None
