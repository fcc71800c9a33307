//! Full-text search: folding in French, English and Arabic, phrases and
//! words, filters, pages, relevance and snippets.

use std::collections::BTreeSet;

use vigil_store::{
    DocumentId, DocumentKind, NewDocument, PostOutcome, SearchCursor, SearchHit, SearchOrder, SearchQuery,
};

use crate::data::{ingested, post, search, search_all, tip};
use crate::harness::Engine;

conformance!(
    search_filters_orders_and_pages,
    french_accents_and_case_are_folded,
    english_phrases_are_words_in_a_row,
    arabic_diacritics_and_letter_variants_are_folded,
    search_syntax_in_a_query_is_only_text,
    documents_keep_their_categories_and_search_filters_on_them,
    newest_pages_walk_every_hit_once,
    relevance_finds_the_same_documents_and_pages_by_offset,
    snippets_bracket_the_matched_words,
    a_hit_summarizes_its_document,
);

fn observed(hits: &[SearchHit]) -> Vec<i64> {
    hits.iter().map(|hit| hit.document.observed_at).collect()
}

fn hit_ids(hits: &[SearchHit]) -> Vec<DocumentId> {
    hits.iter().map(|hit| hit.document.id).collect()
}

fn in_language(id: &str, text: &str, language: &str, at: i64) -> NewDocument {
    NewDocument { language: Some(language.into()), ..post(id, text, at) }
}

async fn stored_ids(engine: &Engine, posts: Vec<NewDocument>) -> Vec<DocumentId> {
    let stored = engine.store.insert_posts(posts, ingested()).await.unwrap();
    stored
        .outcomes
        .into_iter()
        .map(|outcome| match outcome {
            PostOutcome::Stored(id) => id,
            other => panic!("stored: {other:?}"),
        })
        .collect()
}

async fn search_filters_orders_and_pages(engine: Engine) {
    let store = &engine.store;
    store
        .insert_posts(
            vec![
                post("1", "appel aux dons pour la cause", 100),
                in_language("2", "un autre appel, urgent", "en", 200),
                post("3", "rien à voir", 300),
            ],
            ingested(),
        )
        .await
        .unwrap();
    store.insert_tip(tip("appel signalé par un témoin", 3_600, [1; 32])).await.unwrap();

    let query = search(&["appel"]);
    assert_eq!(observed(&store.search(query.clone()).await.unwrap()), vec![3_600, 200, 100]);
    let posts_only = SearchQuery { kinds: vec![DocumentKind::Post], ..query.clone() };
    assert_eq!(observed(&store.search(posts_only).await.unwrap()), vec![200, 100]);
    let tips_only = SearchQuery { kinds: vec![DocumentKind::Tip], ..query.clone() };
    assert_eq!(observed(&store.search(tips_only).await.unwrap()), vec![3_600]);
    let both_kinds = SearchQuery { kinds: vec![DocumentKind::Tip, DocumentKind::Post], ..query.clone() };
    assert_eq!(observed(&store.search(both_kinds).await.unwrap()), vec![3_600, 200, 100]);
    // From is inclusive, until exclusive.
    let window = SearchQuery { observed_from: Some(200), observed_until: Some(3_600), ..query.clone() };
    assert_eq!(observed(&store.search(window).await.unwrap()), vec![200]);
    let from_only = SearchQuery { observed_from: Some(101), ..query.clone() };
    assert_eq!(observed(&store.search(from_only).await.unwrap()), vec![3_600, 200]);
    let english = SearchQuery { languages: vec!["en".into()], ..query.clone() };
    assert_eq!(observed(&store.search(english).await.unwrap()), vec![200]);
    let french_or_english = SearchQuery { languages: vec!["en".into(), "fr".into()], ..query.clone() };
    assert_eq!(store.search(french_or_english).await.unwrap().len(), 3);
    let arabic = SearchQuery { languages: vec!["ar".into()], ..query.clone() };
    assert!(store.search(arabic).await.unwrap().is_empty());
    // Filters without text: every document passing them.
    assert_eq!(observed(&store.search(search_all()).await.unwrap()), vec![3_600, 300, 200, 100]);
    let limited = SearchQuery { limit: 1, ..search_all() };
    assert_eq!(observed(&store.search(limited).await.unwrap()), vec![3_600]);

    let first = store.search(SearchQuery { limit: 2, ..query.clone() }).await.unwrap();
    let last = &first[1].document;
    let after = SearchCursor::Newest { observed_at: last.observed_at, id: last.id };
    let second = store.search(SearchQuery { limit: 2, after: Some(after), ..query.clone() }).await.unwrap();
    assert_eq!(observed(&second), vec![100]);

    let phrase = search(&["appel aux dons"]);
    let hits = store.search(phrase).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert!(hits[0].snippet.contains("[appel aux dons]"), "{}", hits[0].snippet);
    let relevance = SearchQuery { order: SearchOrder::Relevance, ..query };
    assert_eq!(store.search(relevance).await.unwrap().len(), 3);
    assert!(store.search(search(&["absent"])).await.unwrap().is_empty());
}

async fn french_accents_and_case_are_folded(engine: Engine) {
    let ids = stored_ids(
        &engine,
        vec![
            post("1", "Émission spéciale : l'élection et le cœur du réseau", 100),
            post("2", "emission sans accent, ELECTION en capitales", 200),
            post("3", "une émissionnaire n'est pas une émission", 300),
        ],
    )
    .await;
    let found = |phrases: &'static [&'static str]| {
        let store = engine.store.clone();
        async move { ids_set(&store.search(search(phrases)).await.unwrap()) }
    };
    let all = BTreeSet::from([ids[0], ids[1], ids[2]]);
    assert_eq!(found(&["emission"]).await, all, "query emission finds émission");
    assert_eq!(found(&["émission"]).await, all);
    assert_eq!(found(&["ÉMISSION"]).await, all);
    assert_eq!(found(&["election"]).await, BTreeSet::from([ids[0], ids[1]]));
    assert_eq!(found(&["coeur"]).await, BTreeSet::from([ids[0]]), "œ folds to oe");
    assert_eq!(found(&["cœur"]).await, BTreeSet::from([ids[0]]));
    assert_eq!(found(&["reseau"]).await, BTreeSet::from([ids[0]]));
    // Words are whole: a longer word is another word.
    assert_eq!(found(&["emissionnaire"]).await, BTreeSet::from([ids[2]]));
    assert!(found(&["emissio"]).await.is_empty(), "no prefix matching");
    // An apostrophe separates words.
    assert_eq!(found(&["l election"]).await, BTreeSet::from([ids[0]]));
    assert_eq!(found(&["l'élection"]).await, BTreeSet::from([ids[0]]));
}

fn ids_set(hits: &[SearchHit]) -> BTreeSet<DocumentId> {
    hits.iter().map(|hit| hit.document.id).collect()
}

async fn english_phrases_are_words_in_a_row(engine: Engine) {
    let ids = stored_ids(
        &engine,
        vec![
            in_language("1", "Fundraising campaign for the group, share widely", "en", 100),
            in_language("2", "The group announced a new campaign", "en", 200),
            in_language("3", "Nothing to see: weather report", "en", 300),
        ],
    )
    .await;
    let found = |phrases: &'static [&'static str]| {
        let store = engine.store.clone();
        async move { ids_set(&store.search(search(phrases)).await.unwrap()) }
    };
    assert_eq!(found(&["campaign"]).await, BTreeSet::from([ids[0], ids[1]]));
    assert_eq!(found(&["CAMPAIGN"]).await, BTreeSet::from([ids[0], ids[1]]));
    // A phrase: its words in a row, in order; common words are words too.
    assert_eq!(found(&["campaign for the group"]).await, BTreeSet::from([ids[0]]));
    assert_eq!(found(&["the group"]).await, BTreeSet::from([ids[0], ids[1]]));
    assert!(found(&["group campaign"]).await.is_empty());
    assert!(found(&["fundraising group"]).await.is_empty(), "not next to each other");
    // Several phrases: all must occur, anywhere.
    assert_eq!(found(&["group", "campaign"]).await, BTreeSet::from([ids[0], ids[1]]));
    assert_eq!(found(&["fundraising", "group"]).await, BTreeSet::from([ids[0]]));
    assert!(found(&["campaign", "weather"]).await.is_empty());
    // Punctuation in a query is no word.
    assert_eq!(found(&["group, share"]).await, BTreeSet::from([ids[0]]));
    assert_eq!(found(&["see weather"]).await, BTreeSet::from([ids[2]]));
}

async fn arabic_diacritics_and_letter_variants_are_folded(engine: Engine) {
    let ids = stored_ids(
        &engine,
        vec![
            in_language("1", "بيان الدَّوْلَة الإسلامية عن الإعـــلام", "ar", 100),
            in_language("2", "الدولة والاعلام في مدينة كبيرة", "ar", 200),
            in_language("3", "خبر عن الطقس", "ar", 300),
        ],
    )
    .await;
    let found = |phrases: &'static [&'static str]| {
        let store = engine.store.clone();
        async move { ids_set(&store.search(search(phrases)).await.unwrap()) }
    };
    let both = BTreeSet::from([ids[0], ids[1]]);
    // Harakat dropped, teh marbuta and heh, alef with hamza and bare alef,
    // tatweel: each spelling finds both.
    assert_eq!(found(&["الدولة"]).await, both);
    assert_eq!(found(&["الدَّوْلَة"]).await, both);
    assert_eq!(found(&["الدوله"]).await, both);
    assert_eq!(found(&["الإسلامية"]).await, BTreeSet::from([ids[0]]));
    assert_eq!(found(&["الاسلاميه"]).await, BTreeSet::from([ids[0]]));
    assert_eq!(found(&["الإعلام"]).await, BTreeSet::from([ids[0]]));
    assert_eq!(found(&["الاعلام"]).await, BTreeSet::from([ids[0]]));
    assert_eq!(found(&["مدينة"]).await, BTreeSet::from([ids[1]]));
    assert_eq!(found(&["الدولة الاسلامية"]).await, BTreeSet::from([ids[0]]), "a phrase");
    assert!(found(&["الاسلامية الدولة"]).await.is_empty(), "words out of order are no phrase");
    let hits = engine.store.search(search(&["الاعلام"])).await.unwrap();
    assert!(hits[0].snippet.contains("[الإعـــلام]"), "the snippet shows the text as written: {}", hits[0].snippet);
    let hits = engine.store.search(search(&["الدولة"])).await.unwrap();
    let first = hits.iter().find(|hit| hit.document.id == ids[0]).unwrap();
    assert!(first.snippet.contains("[الدَّوْلَة]"), "a word with harakat is bracketed whole: {}", first.snippet);
}

async fn search_syntax_in_a_query_is_only_text(engine: Engine) {
    let store = &engine.store;
    store.insert_posts(vec![post("1", "appel AND NEAR dons OR NOT x", 100)], ingested()).await.unwrap();
    for phrase in
        ["*", "-", "AND", "NEAR(", "\"", "a\"b", "()", "^", ":", "'", "...", "&", "|", "!", "<->", "\\", "a:*"]
    {
        let query = SearchQuery { phrases: vec![phrase.to_owned()], ..search_all() };
        assert!(store.search(query).await.is_ok(), "searching {phrase:?} fails");
    }
    for word in ["NEAR", "AND", "OR", "NOT", "near"] {
        let query = SearchQuery { phrases: vec![word.into()], ..search_all() };
        assert_eq!(store.search(query).await.unwrap().len(), 1, "an operator word {word} is searched as a word");
    }
    // A phrase without any word filters nothing.
    assert_eq!(store.search(SearchQuery { phrases: vec!["...".into()], ..search_all() }).await.unwrap().len(), 1);
    assert!(store.search(search(&["appel:*"])).await.unwrap().len() == 1, "a suffix operator is punctuation");
    assert!(store.search(search(&["app:*"])).await.unwrap().is_empty(), "no prefix search by syntax");
}

async fn documents_keep_their_categories_and_search_filters_on_them(engine: Engine) {
    let store = &engine.store;
    let mut threat = post("1", "menace", 100);
    threat.categories = vec![("threat".into(), 0.63), ("propaganda".into(), 0.4)];
    let mut financing = post("2", "appel aux dons", 200);
    financing.categories = vec![("financing".into(), 0.9)];
    store.insert_posts(vec![threat, financing, post("3", "rien", 300)], ingested()).await.unwrap();
    let hits = store.search(SearchQuery { categories: vec!["threat".into()], ..search_all() }).await.unwrap();
    assert_eq!(hits.len(), 1);
    let mut categories = hits[0].document.categories.clone();
    categories.sort();
    assert_eq!(categories, vec!["propaganda", "threat"]);
    let either = store
        .search(SearchQuery { categories: vec!["threat".into(), "financing".into()], ..search_all() })
        .await
        .unwrap();
    assert_eq!(observed(&either), vec![200, 100], "in at least one of the categories");
    assert!(store.search(SearchQuery { categories: vec!["other".into()], ..search_all() }).await.unwrap().is_empty());
    let all = store.search(search_all()).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all[0].document.categories.is_empty());
    let with_text = SearchQuery { categories: vec!["financing".into()], ..search(&["dons"]) };
    assert_eq!(observed(&store.search(with_text).await.unwrap()), vec![200]);
}

async fn newest_pages_walk_every_hit_once(engine: Engine) {
    // Ties on the time: the id breaks them, on every engine.
    let times = [300, 200, 300, 200, 100, 200, 400, 50];
    let posts =
        times.iter().enumerate().map(|(n, &at)| post(&n.to_string(), &format!("appel numéro {n}"), at)).collect();
    let ids = stored_ids(&engine, posts).await;
    let mut expected: Vec<(i64, DocumentId)> = times.iter().copied().zip(ids.iter().copied()).collect();
    expected.sort_by(|a, b| b.cmp(a));
    let whole = engine.store.search(search(&["appel"])).await.unwrap();
    assert_eq!(whole.iter().map(|h| (h.document.observed_at, h.document.id)).collect::<Vec<_>>(), expected);

    for page_size in [1, 2, 3, 5] {
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let query = SearchQuery { limit: page_size, after, ..search(&["appel"]) };
            let page = engine.store.search(query).await.unwrap();
            assert!(page.len() <= page_size);
            let Some(last) = page.last() else { break };
            after = Some(SearchCursor::Newest { observed_at: last.document.observed_at, id: last.document.id });
            walked.extend(page.iter().map(|h| (h.document.observed_at, h.document.id)));
        }
        assert_eq!(walked, expected, "pages of {page_size}");
    }
    // A cursor with a time filter: the filter still holds.
    let query = SearchQuery {
        limit: 10,
        observed_until: Some(300),
        after: Some(SearchCursor::Newest { observed_at: 200, id: DocumentId::MAX }),
        ..search(&["appel"])
    };
    let page = engine.store.search(query).await.unwrap();
    assert!(observed(&page).iter().all(|&at| at <= 200));
    assert_eq!(page.len(), 5);
}

async fn relevance_finds_the_same_documents_and_pages_by_offset(engine: Engine) {
    let filler = "mot ".repeat(30);
    let posts = vec![
        post("1", &format!("appel {filler}"), 100),
        post("2", "appel appel appel", 200),
        post("3", &format!("un appel {filler} encore un appel"), 300),
        post("4", "rien", 400),
        post("5", &format!("{filler} appel"), 500),
    ];
    let ids = stored_ids(&engine, posts).await;
    let relevance = SearchQuery { order: SearchOrder::Relevance, ..search(&["appel"]) };
    let ranked = engine.store.search(relevance.clone()).await.unwrap();
    let newest = engine.store.search(search(&["appel"])).await.unwrap();
    assert_eq!(ids_set(&ranked), ids_set(&newest), "the same documents, whatever the order");
    assert_eq!(ids_set(&ranked), BTreeSet::from([ids[0], ids[1], ids[2], ids[4]]));
    assert_eq!(ranked[0].document.id, ids[1], "the densest match first");

    let mut walked = Vec::new();
    for offset in (0..6).step_by(2) {
        let page = SearchQuery { limit: 2, after: Some(SearchCursor::Relevance { offset }), ..relevance.clone() };
        walked.extend(hit_ids(&engine.store.search(page).await.unwrap()));
    }
    assert_eq!(walked, hit_ids(&ranked), "pages continue the ranking");
    // Relevance without text: newest first.
    let plain = engine.store.search(SearchQuery { order: SearchOrder::Relevance, ..search_all() }).await.unwrap();
    assert_eq!(observed(&plain), vec![500, 400, 300, 200, 100]);
}

async fn snippets_bracket_the_matched_words(engine: Engine) {
    let long = format!("{} propagande {}", "mot ".repeat(40), "fin ".repeat(40));
    let ids = stored_ids(
        &engine,
        vec![
            post("1", "Un Appel aux dons, vite.", 100),
            post("2", &long, 200),
            post("3", "L'Émission d'hier, puis l'émission de demain", 300),
            post("4", "dons et appel, puis appel aux dons", 400),
        ],
    )
    .await;
    let snippet_of = |phrases: &'static [&'static str], id: DocumentId| {
        let store = engine.store.clone();
        async move {
            let hits = store.search(search(phrases)).await.unwrap();
            hits.into_iter().find(|hit| hit.document.id == id).unwrap_or_else(|| panic!("{id} found")).snippet
        }
    };
    assert_eq!(snippet_of(&["appel aux dons"], ids[0]).await, "Un [Appel aux dons], vite.");
    let cut = snippet_of(&["propagande"], ids[1]).await;
    assert!(cut.starts_with('…') && cut.ends_with('…') && cut.contains("[propagande]"), "{cut}");
    assert_eq!(snippet_of(&["emission"], ids[2]).await, "L'[Émission] d'hier, puis l'[émission] de demain");
    assert_eq!(snippet_of(&["appel aux dons"], ids[3]).await, "dons et appel, puis [appel aux dons]");
    assert_eq!(snippet_of(&["appel", "dons"], ids[3]).await, "[dons] et [appel], puis [appel] aux [dons]");
    // Without text, the start of the text.
    let all = engine.store.search(search_all()).await.unwrap();
    let plain = all.iter().find(|hit| hit.document.id == ids[1]).unwrap();
    assert_eq!(plain.snippet, long.chars().take(200).collect::<String>());
}

async fn a_hit_summarizes_its_document(engine: Engine) {
    let mut document = in_language("77", "résumé du document", "fr", 1_234);
    document.url = Some("https://example.org/post/77".into());
    document.text_sha256 = "ab".repeat(32);
    document.categories = vec![("propaganda".into(), 0.7)];
    let ids = stored_ids(&engine, vec![document]).await;
    engine.store.insert_tip(tip("résumé d'un signalement", 3_600, [5; 32])).await.unwrap();
    let hits = engine.store.search(search(&["resume"])).await.unwrap();
    assert_eq!(hits.len(), 2);
    let post = &hits[1].document;
    assert_eq!(post.id, ids[0]);
    assert_eq!(post.kind, DocumentKind::Post);
    assert_eq!((post.platform.as_deref(), post.platform_post_id.as_deref()), (Some("telegram"), Some("77")));
    assert_eq!(post.url.as_deref(), Some("https://example.org/post/77"));
    assert_eq!((post.language.as_deref(), post.observed_at), (Some("fr"), 1_234));
    assert_eq!(post.text_sha256, "ab".repeat(32));
    assert_eq!(post.categories, vec!["propaganda"]);
    let tip = &hits[0].document;
    assert_eq!((tip.kind, tip.platform.as_deref(), tip.platform_post_id.as_deref()), (DocumentKind::Tip, None, None));
    assert_eq!(tip.observed_at, 3_600);
}
