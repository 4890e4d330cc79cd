// Mounts GraphiQL (vendored UMD build) on #graphiql. Settings come from the page's JSON config element,
// so the page itself needs no inline script.
(function () {
  'use strict';
  var root = document.getElementById('graphiql');
  var configElement = document.getElementById('graphiql-config');
  var config = JSON.parse(configElement.textContent);

  // Same-origin request: the browser sends the gateway's cookies (login flow) with every operation.
  function sameOriginFetch(input, init) {
    return window.fetch(input, Object.assign({}, init, { credentials: 'same-origin' }));
  }

  var fetcher = GraphiQL.createFetcher({
    url: config.url,
    fetch: sameOriginFetch,
    enableIncrementalDelivery: false,
  });

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.defaultQuery,
      defaultTabs: [{ query: config.defaultQuery, variables: config.defaultVariables }],
      defaultEditorToolsVisibility: 'variables',
      shouldPersistHeaders: false,
    })
  );
})();
