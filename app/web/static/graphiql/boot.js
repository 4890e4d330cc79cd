// Mounts GraphiQL (vendored UMD build) on #graphiql, with the explorer plugin, an "Examples" sidebar of saved
// operations and subscriptions over SSE. Settings come from the page's JSON config element, so the page itself
// needs no inline script.
(function () {
  'use strict';
  var h = React.createElement;
  var root = document.getElementById('graphiql');
  var configElement = document.getElementById('graphiql-config');
  var config = JSON.parse(configElement.textContent);
  var examples = config.examples;

  // Same-origin request: the browser sends the gateway's cookies (login flow) with every operation.
  function sameOriginFetch(input, init) {
    return window.fetch(input, Object.assign({}, init, { credentials: 'same-origin' }));
  }

  var httpFetcher = GraphiQL.createFetcher({
    url: config.url,
    fetch: sameOriginFetch,
    enableIncrementalDelivery: false,
  });

  // The operation GraphiQL is about to run: the one named, or the document's only one.
  function operationOf(params, options) {
    var definitions = (options && options.documentAST && options.documentAST.definitions) || [];
    var operations = definitions.filter(function (definition) {
      return definition.kind === 'OperationDefinition';
    });
    if (!params.operationName) {
      return operations.length === 1 ? operations[0] : null;
    }
    return (
      operations.find(function (operation) {
        return operation.name && operation.name.value === params.operationName;
      }) || null
    );
  }

  // Subscriptions stream over GraphQL over SSE (vendored graphql-sse client, distinct connections mode): the same
  // /graphql, the same headers and cookies as queries, so nothing beyond 'self' is needed. A refusal before the
  // stream opens (401, 406 ...) is a JSON answer: it is shown in the result pane as a query's would be. Stopping
  // the subscription in GraphiQL returns the iterator, which aborts the request: the gateway stops watching.
  function subscribe(params, headers) {
    var client = graphqlSse.createClient({
      url: config.url,
      headers: headers || {},
      credentials: 'same-origin',
      retryAttempts: 0,
    });
    var results = client.iterate(params);
    var done = false;
    return {
      next: function () {
        if (done) {
          return Promise.resolve({ done: true, value: undefined });
        }
        return results.next().catch(function (error) {
          done = true;
          var response = error && error.response;
          if (!response || !(response.headers.get('content-type') || '').includes('json')) {
            client.dispose();
            throw error;
          }
          // Read before disposing: disposing aborts the request, and with it the body still to be read.
          return response.json().then(
            function (body) {
              client.dispose();
              return { done: false, value: body };
            },
            function (readError) {
              client.dispose();
              throw readError;
            }
          );
        });
      },
      return: function () {
        done = true;
        client.dispose();
        return results.return();
      },
      [Symbol.asyncIterator]: function () {
        return this;
      },
    };
  }

  function fetcher(params, options) {
    var operation = operationOf(params, options);
    if (operation && operation.operation === 'subscription') {
      return subscribe(params, options && options.headers);
    }
    return httpFetcher(params, options);
  }

  function ExamplesIcon() {
    return h(
      'svg',
      { viewBox: '0 0 24 24', fill: 'none', stroke: 'currentColor', strokeWidth: 1.5, 'aria-hidden': 'true' },
      h('path', { d: 'M6 3h9l3 3v15H6z M9 9h6 M9 13h6 M9 17h4' })
    );
  }

  // Opens an example in a new tab. GraphiQL fills a new tab with the default query as it switches to it, so the
  // example's text is written once that tab is the active one (the effect runs after that render).
  function ExamplesList() {
    var editor = GraphiQL.React.useEditorContext({ nonNull: true });
    var pending = React.useRef(null);
    React.useEffect(
      function () {
        var example = pending.current;
        if (!example || !editor.queryEditor || !editor.variableEditor || !editor.headerEditor) {
          return;
        }
        pending.current = null;
        editor.queryEditor.setValue(example.query);
        editor.variableEditor.setValue(example.variables);
        editor.headerEditor.setValue(example.headers);
      },
      [editor.tabs.length, editor.activeTabIndex]
    );
    return h(
      'section',
      { className: 'graphiql-history', 'aria-label': 'Examples' },
      h('div', { className: 'graphiql-history-header' }, 'Examples'),
      h(
        'ul',
        { className: 'graphiql-history-items' },
        examples.map(function (example) {
          return h(
            'li',
            { key: example.title, className: 'graphiql-history-item' },
            h(
              'button',
              {
                type: 'button',
                className: 'graphiql-un-styled graphiql-history-item-label',
                'data-example': example.title,
                onClick: function () {
                  pending.current = example;
                  editor.addTab();
                },
              },
              example.title
            )
          );
        })
      )
    );
  }

  var examplesPlugin = { title: 'Examples', icon: ExamplesIcon, content: ExamplesList };

  // GraphiQL keeps the user's tabs in localStorage. On a first visit (nothing stored) the examples are the tabs,
  // and the first one's variables are passed explicitly: GraphiQL 3 fills the variables editor from the
  // `variables` prop, not from defaultTabs.
  function firstVisit() {
    try {
      return window.localStorage.getItem('graphiql:tabState') === null;
    } catch (error) {
      return true;
    }
  }

  var props = {
    fetcher: fetcher,
    defaultQuery: config.defaultQuery,
    defaultHeaders: config.defaultHeaders,
    defaultTabs: examples.map(function (example) {
      return { query: example.query, variables: example.variables, headers: example.headers };
    }),
    defaultEditorToolsVisibility: 'variables',
    shouldPersistHeaders: false,
    plugins: [GraphiQLPluginExplorer.explorerPlugin(), examplesPlugin],
  };
  if (firstVisit()) {
    props.variables = examples[0].variables;
  }

  ReactDOM.createRoot(root).render(h(GraphiQL, props));
})();
